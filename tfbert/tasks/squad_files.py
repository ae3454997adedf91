"""SQuAD v1.1 / v2.0 JSON files (and raw question/context pairs) -> `SquadExample`s.

A SQuAD file is `{"version": ..., "data": [{"paragraphs": [{"context": str, "qas": [...]}]}]}`;
each question has `id`, `question`, `answers` (`text` and code-point `answer_start`) and, in
v2.0, `is_impossible` (its `plausible_answers` are ignored). Every answer is checked against the
context; errors name the file and the question id.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class SquadExample:
    """One question about one context.

    `answers` are (text, answer_start) pairs with code-point starts into `context` (all of a dev
    file's answers; training uses the first). `source` says where the example came from, for
    error messages ("train.json: question id 5733be28").
    """

    id: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]
    is_impossible: bool
    source: str


def read_squad(path: str | os.PathLike, *, training: bool = False
               ) -> tuple[dict, list[SquadExample]]:
    """The parsed JSON (what the official metric reads) and its examples, in file order.

    With `training`, every answerable question must have an answer (it is the training target).

    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dev.json"
    >>> qa = {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 3}]}
    >>> data = {"version": "1.1", "data": [{"title": "T", "paragraphs": [
    ...     {"context": "In Paris.", "qas": [qa]}]}]}
    >>> _ = path.write_text(json.dumps(data))
    >>> dataset, examples = read_squad(path)
    >>> examples[0].answers, examples[0].is_impossible, examples[0].id
    ((('Paris', 3),), False, 'q1')
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as file:
            dataset = json.load(file)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg}); "
                         f"expected a SQuAD file.") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); "
                         f"expected a SQuAD JSON file.") from None
    examples = []
    seen: dict[str, str] = {}
    for article_index, article in enumerate(_list(dataset, "data", f"{path}: the file")):
        where = f"data[{article_index}]"
        for paragraph_index, paragraph in enumerate(_list(article, "paragraphs",
                                                          f"{path}: {where}")):
            paragraph_where = f"{where}.paragraphs[{paragraph_index}]"
            where_ids = _paragraph(path, paragraph_where, paragraph)
            context = _field(paragraph, "context", str, where_ids)
            for qa_index, qa in enumerate(_list(paragraph, "qas", f"{path}: {paragraph_where}")):
                qa_where = f"{paragraph_where}.qas[{qa_index}]"
                example = _example(qa, context, path, qa_where)
                if example.id in seen:
                    raise ValueError(f"{example.source}: the id is repeated (first at "
                                     f"{seen[example.id]}, again at {qa_where}); question ids "
                                     f"must be unique.")
                seen[example.id] = qa_where
                if training:
                    training_answer(example)
                examples.append(example)
    return dataset, examples


def examples_from_pairs(questions: Sequence[str], contexts: Sequence[str]) -> list[SquadExample]:
    """Examples without answers for raw input; question i gets the id `str(i)`.

    >>> [(e.id, e.question, e.context) for e in examples_from_pairs(["Who?"], ["Ann ran."])]
    [('0', 'Who?', 'Ann ran.')]
    """
    if isinstance(questions, str) or isinstance(contexts, str):
        raise TypeError("`questions` and `contexts` must be sequences of strings; got a str")
    if len(questions) != len(contexts):
        raise ValueError(f"`questions` and `contexts` must have the same length; got "
                         f"{len(questions)} questions and {len(contexts)} contexts")
    examples = []
    for index, (question, context) in enumerate(zip(questions, contexts)):
        for name, value in (("questions", question), ("contexts", context)):
            if not isinstance(value, str):
                raise TypeError(f"`{name}[{index}]` must be a str; got {type(value).__name__}")
        examples.append(SquadExample(str(index), question, context, (), False, f"pair {index}"))
    return examples


def training_answer(example: SquadExample) -> tuple[str, int] | None:
    """The training target: the first answer, or None for an unanswerable question."""
    if example.is_impossible:
        return None
    if not example.answers:
        raise ValueError(f"{example.source}: an answerable question (is_impossible false) "
                         f"needs an answer to train on; got none.")
    return example.answers[0]


def _example(qa, context: str, path: str, where: str) -> SquadExample:
    qa_id = _field(qa, "id", str, f"{path}: {where}")
    source = f"{path}: question id {qa_id}"
    question = _field(qa, "question", str, source)
    is_impossible = qa.get("is_impossible", False)
    if not isinstance(is_impossible, bool):
        raise ValueError(f"{source}: 'is_impossible' must be true or false; got "
                         f"{_json_type(is_impossible)} {is_impossible!r:.60}.")
    answers = []
    for index, answer in enumerate(_list(qa, "answers", source, missing_ok=True)):
        text = _field(answer, "text", str, f"{source}: answers[{index}]")
        start = _field(answer, "answer_start", int, f"{source}: answers[{index}]")
        found = context[start:start + len(text)] if start >= 0 else ""
        if not text or found != text:
            raise ValueError(
                f"{source}: answers[{index}] does not match the context: the text is {text!r} "
                f"but context[{start}:{start + len(text)}] is {found!r} (the context has "
                f"{len(context)} characters; answer_start counts code points).")
        answers.append((text, start))
    if is_impossible and answers:
        raise ValueError(f"{source}: the question is marked is_impossible but lists "
                         f"{len(answers)} answer(s); an unanswerable question must have "
                         f"'answers': [] (guesses go in 'plausible_answers').")
    return SquadExample(qa_id, question, context, tuple(answers), is_impossible, source)


def _paragraph(path: str, where: str, paragraph) -> str:
    """`where` for paragraph errors, with the ids of its first questions when it has them."""
    qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
    ids = [qa["id"] for qa in qas or () if isinstance(qa, dict) and isinstance(qa.get("id"), str)]
    if not ids:
        return f"{path}: {where}"
    more = ", ..." if len(ids) > 3 else ""
    return f"{path}: {where} (question id {', '.join(ids[:3])}{more})"


def _list(parent, key: str, where: str, missing_ok: bool = False) -> list:
    if missing_ok and isinstance(parent, dict) and key not in parent:
        return []
    return _field(parent, key, list, where)


def _field(parent, key: str, kind: type, where: str):
    """`parent[key]`, checked to be a `kind`; otherwise an error that starts with `where`."""
    if not isinstance(parent, dict):
        raise ValueError(f"{where}: expected a JSON object with {key!r}; got "
                         f"{_json_type(parent)} {parent!r:.60}.")
    if key not in parent:
        raise ValueError(f"{where}: missing {key!r} (keys: {sorted(parent)}); expected the "
                         f"SQuAD layout.")
    value = parent[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where}: {key!r} must be a JSON {_JSON_TYPES[kind]}; got "
                         f"{_json_type(value)} {value!r:.60}.")
    return value


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array",
               dict: "object", type(None): "null"}


def _json_type(value) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)
