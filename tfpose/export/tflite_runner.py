"""Running a ``.tflite`` file: the one way the library calls TFLite (the inference backend
:class:`tfpose.inference.backends.TFLiteBackend`, the parity report).

A model is called through a signature runner of ai-edge-litert (inputs and outputs by their
signature names, the tensors resized to each call's batch), never through tensor indices.
Integer (quantised) inputs and outputs are converted with the tensors' quantisation parameters,
so float-I/O and int-I/O models are called alike with float32 arrays. Needs ai-edge-litert and
numpy only, no TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfpose import console


def _quantize(value: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    dtype = details["dtype"]
    if np.issubdtype(dtype, np.integer):
        scale, zero_point = details["quantization"]
        if scale:
            info = np.iinfo(dtype)
            value = np.clip(np.round(value / scale + zero_point), info.min, info.max)
    return np.asarray(value).astype(dtype, copy=False)


def _dequantize(value: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    if np.issubdtype(value.dtype, np.integer):
        scale, zero_point = details["quantization"]
        if scale:
            return (value.astype(np.float32) - zero_point) * np.float32(scale)
    return value


class TFLiteRunner:
    """One signature of a ``.tflite`` model, called with keyword arrays by input name.

    Args:
      path: the ``.tflite`` file (or give ``content``).
      content: the model's bytes.
      num_threads: interpreter threads (None = the runtime's default).
      signature: the signature to run; None: the model's only one.

    Attributes:
      signature: its name.
      inputs, outputs: name → tensor details (shape, ``shape_signature``, dtype,
        quantization), as the model declares them.

    Raises:
      ValueError: the model does not load, or has no such signature (named).
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        content: bytes | None = None,
        num_threads: int | None = None,
        signature: str | None = None,
    ):
        from ai_edge_litert.interpreter import Interpreter

        source = path if path is not None else "the model"
        with console.native_output_filtered():  # the first call creates the XNNPACK delegate
            self.interpreter = Interpreter(
                model_path=path, model_content=content, num_threads=num_threads
            )
            signatures = self.interpreter.get_signature_list()
            if signature is None:
                if len(signatures) != 1:
                    raise ValueError(
                        f"{source}: expected one signature, the model has {sorted(signatures)}; "
                        "export it with python -m tfpose.export"
                    )
                (signature,) = signatures
            elif signature not in signatures:
                raise ValueError(
                    f"{source}: no signature {signature!r} (it has {sorted(signatures)})"
                )
            self.signature = signature
            self._runner = self.interpreter.get_signature_runner(signature)
            self.inputs = self._runner.get_input_details()
            self.outputs = self._runner.get_output_details()
            self._runner(**{k: np.zeros(v["shape"], v["dtype"]) for k, v in self.inputs.items()})

    def __call__(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """float32 arrays by input name → float32 arrays by output name (integer outputs
        dequantised; the batch dimension follows the inputs')."""
        unknown = sorted(set(inputs) - set(self.inputs))
        if unknown:
            raise ValueError(
                f"no input {unknown} in signature {self.signature!r} ({list(self.inputs)})"
            )
        feed = {name: _quantize(value, self.inputs[name]) for name, value in inputs.items()}
        results = self._runner(**feed)
        return {name: _dequantize(value, self.outputs[name]) for name, value in results.items()}
