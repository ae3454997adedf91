"""TF Serving's REST JSON for tensors and Examples, as its util/json_tensor.cc reads and writes
it: request bodies to input arrays (row "instances" or columnar "inputs", {"b64": ...} strings,
each value checked against the signature's dtype and shape), output arrays to "predictions" or
"outputs" JSON (floats as TF Serving prints them, "_bytes" outputs as b64), and Classify/Regress
"examples" (with an optional "context") to a `tensorflow.serving.Input`. A malformed value is an
INVALID_ARGUMENT `RequestError` saying where it is. Hand-written: TF Serving's codec is C++, and
no Python package ships it.

>>> import numpy as np
>>> print(predict_json({"value": np.array([1.5, 3e-05], np.float32)}, row_format=True), end="")
{
    "predictions": [
        1.5,
        3e-05
    ]
}
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Callable

import numpy as np
import tensorflow as tf
from grpc import StatusCode
from tensorflow_serving.apis import input_pb2

from tfbert.serving.server import RequestError

# The tensor types TF Serving reads from and writes to JSON.
_JSON_DTYPES = {tf.float32, tf.float64, tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8,
                tf.uint32, tf.uint64, tf.bool, tf.string}
_DECODER = json.JSONDecoder()


def invalid(message: str) -> RequestError:
    return RequestError(StatusCode.INVALID_ARGUMENT, message)


def _kind(value) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}[type(value)]


def _show(value) -> str:
    """A short description of a JSON value for an error message."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"an object with keys {sorted(value)[:8]}"
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_object(value) -> bool:
    return isinstance(value, dict) and not _is_b64(value)


def _bytes(value, where: str) -> bytes:
    """A JSON string (as UTF-8) or {"b64": ...} object as bytes."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape")  # bytes that were not UTF-8 stay
        except UnicodeEncodeError:
            raise invalid(f"{where}: the string has an unpaired surrogate escape") from None
    try:
        text = value["b64"]
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{where}: {_show(value['b64'])} is not valid base64") from None


def parse_document(body: bytes) -> dict:
    """The request body as a JSON object (NaN and Infinity allowed; trailing text ignored, as
    TF Serving's parser stops after the first value)."""
    text = body.decode("utf-8", "surrogateescape")
    start = len(text) - len(text.lstrip(" \t\n\r"))
    if start == len(text):
        raise invalid("JSON parse error: the request body is empty")
    try:
        document, _ = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise invalid(f"JSON parse error: {error.msg} at offset {error.pos}") from None
    except RecursionError:
        raise invalid("JSON parse error: the document is nested too deeply") from None
    if not isinstance(document, dict):
        raise invalid(f"the request body must be a JSON object; got {_kind(document)} "
                       f"{_show(document)}")
    signature = document.get("signature_name", "")
    if not isinstance(signature, str):
        raise invalid(f"'signature_name' must be a string; got {_kind(signature)} "
                       f"{_show(signature)}")
    return document


def _scalar(value, dtype: tf.DType, where: str):
    """One JSON value as a value of `dtype`, or INVALID_ARGUMENT saying why not."""
    if dtype == tf.string:
        if isinstance(value, str) or _is_b64(value):
            return _bytes(value, where)
        if isinstance(value, dict):
            raise invalid(f"{where}: {_show(value)} is neither a string nor a "
                           '{"b64": "..."} object')
    elif dtype == tf.bool:
        if isinstance(value, bool):
            return value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if dtype.is_floating:
            try:
                return float(value)
            except OverflowError:
                raise invalid(f"{where}: {value} is too large for {dtype.name}") from None
        if isinstance(value, int):
            if dtype.min <= value <= dtype.max:
                return value
            raise invalid(f"{where}: {value} is out of the range of {dtype.name}")
    raise invalid(f"{where}: {_kind(value)} {_show(value)} is not a {dtype.name} value")


def _dense(value, dtype_enum: int, where: str) -> np.ndarray:
    """A JSON value or (nested) list as an array of the tensor type: the first entries give
    the shape, every list must match it (no ragged lists)."""
    dtype = tf.dtypes.as_dtype(dtype_enum)
    if dtype not in _JSON_DTYPES:
        raise RequestError(StatusCode.UNIMPLEMENTED,
                           f"{where}: a {dtype.name} input cannot be given in JSON")
    shape, probe = [], value
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    flat = []

    def fill(item, depth: int) -> None:
        if isinstance(item, list):
            if depth == len(shape) or len(item) != shape[depth]:
                raise invalid(f"{where}: ragged lists: a list of {len(item)} at depth "
                               f"{depth + 1}, but the first entries give shape {shape}")
            for element in item:
                fill(element, depth + 1)
        elif depth != len(shape):
            raise invalid(f"{where}: ragged lists: {_show(item)} at depth {depth + 1}, but the "
                           f"first entries give shape {shape}")
        else:
            flat.append(_scalar(item, dtype, where))

    try:
        fill(value, 0)
    except RecursionError:
        raise invalid(f"{where}: the lists are nested too deeply") from None
    numpy_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
    return np.array(flat, dtype=numpy_dtype).reshape(shape)


def row_inputs(instances, infos) -> dict[str, np.ndarray]:
    """Input arrays from "instances": entry i is row i of every input."""
    if not isinstance(instances, list):
        raise invalid(f"'instances' must be a list; got {_kind(instances)} {_show(instances)}")
    if not instances:
        raise invalid("'instances' is empty; give at least one instance (or an empty batch "
                       "in the columnar 'inputs' format)")
    named = _is_object(instances[0])
    if not named and len(infos) > 1:
        raise invalid(f"'instances' holds plain values, but the signature takes the inputs "
                       f"{sorted(infos)}: give each instance as an object with those keys")
    columns: dict[str, list[np.ndarray]] = {name: [] for name in infos}
    for index, instance in enumerate(instances):
        if _is_object(instance) != named:
            raise invalid(f"instances[{index}] is {'not ' if named else ''}an object, unlike "
                           "instances[0]")
        items = instance if named else {next(iter(infos)): instance}
        if set(items) != set(infos):
            raise invalid(f"instances[{index}] has the keys {sorted(items)}; the signature's "
                           f"inputs are {sorted(infos)}")
        for name, value in items.items():
            where = f"instances[{index}]" + (f"[{name!r}]" if named else "")
            array = _dense(value, infos[name].dtype, where)
            if columns[name] and columns[name][0].shape != array.shape:
                raise invalid(f"{where} has shape {list(array.shape)}, but instances[0] has "
                               f"{list(columns[name][0].shape)}; every instance must have the "
                               "same shape (or use the columnar 'inputs' format)")
            columns[name].append(array)
    return {name: np.stack(arrays) for name, arrays in columns.items()}


def columnar_inputs(inputs, infos) -> dict[str, np.ndarray]:
    """Input arrays from "inputs": one value, or an object of input name -> value (names the
    signature does not take are ignored, as in TF Serving)."""
    if not _is_object(inputs):
        if len(infos) > 1:
            raise invalid(f"'inputs' is a single value, but the signature takes the inputs "
                           f"{sorted(infos)}: give an object with those keys")
        name = next(iter(infos))
        return {name: _dense(inputs, infos[name].dtype, "'inputs'")}
    missing = sorted(set(infos) - set(inputs))
    if missing:
        raise invalid(f"'inputs' lacks {missing}; the signature's inputs are {sorted(infos)}")
    return {name: _dense(inputs[name], info.dtype, f"inputs[{name!r}]")
            for name, info in infos.items()}


def _decimal(value: float, digits: int, parse: Callable) -> str:
    """A float as TF Serving writes it: %g when that reads back exactly, else `digits`
    significant digits; whole numbers get ".0"; NaN and Infinity as bare tokens."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = "%g" % value
    if parse(text) != value:
        text = "%.*g" % (digits, value)
    return text if "." in text or "e" in text else text + ".0"


def float32_json(value: float) -> str:
    """A float32 as TF Serving's JSON writes it: the shortest of 6 or 9 significant digits
    that reads back as the same float32."""
    return _decimal(value, 9, np.float32)


def _tensor_json(name: str, array: np.ndarray) -> list | str:
    """The JSON text of each row of `array` (or of the scalar)."""
    if array.dtype == object:
        if name.endswith("_bytes"):
            def write(item):
                return '{"b64": "%s"}' % base64.b64encode(item).decode("ascii")
        else:
            def write(item):
                return json.dumps(item.decode("utf-8", "surrogateescape"), ensure_ascii=False)
    elif array.dtype == np.float32:
        write = float32_json
    elif array.dtype == np.float64:
        def write(item):
            return _decimal(item, 17, float)
    elif array.dtype == np.bool_:
        write = json.dumps
    elif array.dtype.kind in "iu":
        write = str
    else:
        raise invalid(f"output {name!r} has type {array.dtype.name}, which JSON cannot carry")

    def nested(item) -> str:
        return "[" + ", ".join(map(nested, item)) + "]" if isinstance(item, list) else write(item)

    values = array.tolist()
    return [nested(row) for row in values] if isinstance(values, list) else nested(values)


def predict_json(outputs: dict[str, np.ndarray], row_format: bool) -> str:
    if not outputs:
        raise invalid("the signature has no outputs to answer with")
    names = sorted(outputs)
    if not row_format:
        texts = {}
        for name in names:
            rows = _tensor_json(name, outputs[name])
            texts[name] = "[" + ", ".join(rows) + "]" if isinstance(rows, list) else rows
        body = texts[names[0]] if len(names) == 1 else "{\n        " + ",\n        ".join(
            f"{json.dumps(name)}: {texts[name]}" for name in names) + "\n    }"
        return '{\n    "outputs": ' + body + "\n}\n"
    sizes = {name: outputs[name].shape[:1] for name in names}
    if len(set(sizes.values())) > 1 or () in sizes.values():
        raise invalid(f"the outputs' batch sizes differ or are missing ({sizes}); the row "
                       "format ('instances') needs one for all: use the columnar 'inputs' format")
    columns = {name: _tensor_json(name, outputs[name]) for name in names}
    rows = columns[names[0]] if len(names) == 1 else [
        "{" + ", ".join(f"{json.dumps(name)}: {columns[name][i]}" for name in names) + "}"
        for i in range(len(outputs[names[0]]))]
    return '{\n    "predictions": [\n        ' + ",\n        ".join(rows) + "\n    ]\n}\n"


def _feature(feature, values, where: str) -> None:
    """Fills a tf.train.Feature from a JSON value or list: numbers with a fraction or exponent
    are floats, whole numbers and booleans int64s, strings and {"b64": ...} bytes."""
    kinds = set()
    for value in values if isinstance(values, list) else [values]:
        if isinstance(value, float):
            kind, item = "float_list", value
        elif isinstance(value, int):
            if not -2 ** 63 <= value < 2 ** 63:
                raise invalid(f"{where}: {value} does not fit an int64 feature")
            kind, item = "int64_list", int(value)
        elif isinstance(value, str) or _is_b64(value):
            kind, item = "bytes_list", _bytes(value, where)
        else:
            raise invalid(f"{where}: a feature value is a number, a string or a "
                           f"{{\"b64\": ...}} object (or a list of one kind); got {_kind(value)} "
                           f"{_show(value)}")
        kinds.add(kind)
        if len(kinds) > 1:
            raise invalid(f"{where}: the values mix {' and '.join(sorted(kinds))}; a feature "
                           "holds one kind")
        getattr(feature, kind).value.append(item)


def _example(value, example, where: str) -> None:
    if not isinstance(value, dict):
        raise invalid(f"{where} must be an object of feature name -> value; got {_kind(value)} "
                       f"{_show(value)}")
    for name, values in value.items():
        _feature(example.features.feature[name], values, f"{where}[{name!r}]")


def examples_input(document: dict) -> input_pb2.Input:
    """The Input of a Classify or Regress request from "examples" and the optional "context"."""
    request_input = input_pb2.Input()
    if "context" in document:
        _example(document["context"], request_input.example_list_with_context.context,
                 "'context'")
        target = request_input.example_list_with_context.examples
    else:
        target = request_input.example_list.examples
    examples = document.get("examples")
    if examples is None:
        raise invalid("the request has no 'examples': give a list of objects of feature "
                       "name -> value")
    if not isinstance(examples, list) or not examples:
        raise invalid(f"'examples' must be a non-empty list; got {_kind(examples)} "
                       f"{_show(examples)}")
    for index, example in enumerate(examples):
        _example(example, target.add(), f"examples[{index}]")
    return request_input
