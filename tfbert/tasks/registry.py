"""The fine-tuning tasks by name, and the task of a fine-tuned model directory."""
from __future__ import annotations

import json

from tfbert.models.model_directory import ModelDirectory
from tfbert.tasks.sequence_tasks import ClassifyTask, RegressTask
from tfbert.tasks.squad_task import QATask
from tfbert.tasks.tagging_task import TagTask
from tfbert.tasks.task import FineTuningTask

TASKS: dict[str, type[FineTuningTask]] = {
    task.name: task for task in (ClassifyTask, RegressTask, TagTask, QATask)}

# Written into a fine-tuned model directory: the task, its settings, and the sequence length.
SETTINGS_FILE = "finetuning.json"


def task_class(name: str) -> type[FineTuningTask]:
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
    path = source.path / SETTINGS_FILE
    if not path.is_file():
        raise ValueError(f"{source.path} is not a fine-tuned model directory ({SETTINGS_FILE} is "
                         "missing): fine-tune it with `tfbert finetune` first.")
    saved = json.loads(path.read_text(encoding="utf-8"))
    task = task_class(saved["task"])(source.tokenizer(), seq_length or saved["seq_length"],
                                     saved["settings"])
    task.head = {key: value for key, value in source.task.items() if key not in ("class", "dropout")}
    return task
