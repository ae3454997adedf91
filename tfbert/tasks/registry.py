"""The fine-tuning tasks by name, and the task of a fine-tuned model directory."""
from __future__ import annotations

import json

from tfbert.models.model_directory import FINE_TUNING_FILE, ModelDirectory
from tfbert.tasks.sequence_tasks import ClassifyTask, RegressTask
from tfbert.tasks.squad_task import QATask
from tfbert.tasks.tagging_task import TagTask
from tfbert.tasks.task import FineTuningTask

TASKS: dict[str, type[FineTuningTask]] = {
    task.name: task for task in (ClassifyTask, RegressTask, TagTask, QATask)}


def task_class(name: str) -> type[FineTuningTask]:
    """The task called `name` (`tfbert finetune --task NAME`).

    >>> task_class("tag").model_class.__name__
    'BertTokenClassifier'
    """
    if name not in TASKS:
        raise ValueError(f"`task` must be one of {', '.join(TASKS)}; got {name!r}.")
    return TASKS[name]


def settings_json(task: FineTuningTask) -> str:
    """The `finetuning.json` of a model fine-tuned for `task`."""
    return json.dumps({"task": task.name, "seq_length": task.seq_length,
                       "settings": task.settings}, indent=1) + "\n"


def task_of(source: ModelDirectory, seq_length: int | None = None) -> FineTuningTask:
    """The task a fine-tuned model directory was trained for, set up as it was trained
    (`seq_length` overrides the training length)."""
    saved = source.fine_tuning()
    if not saved:
        raise ValueError(f"{source.path} is not a fine-tuned model directory ({FINE_TUNING_FILE} "
                         "is missing): fine-tune it with `tfbert finetune` first.")
    task = task_class(saved["task"])(source.tokenizer(), seq_length or saved["seq_length"],
                                     saved["settings"])
    task.head = {key: value for key, value in source.task.items()
                 if key not in ("class", "dropout")}
    return task
