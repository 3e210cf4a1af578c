"""Landmark alignment: the rotation, scale and shift that put a face's points on a template.

An embedder compares faces cut the way it was trained on them; ArcFace's (insightface's)
5-point template, scaled to the crop, is where eyes, nose and mouth corners go.
"""

from __future__ import annotations

import numpy as np

# ArcFace's 5-point template of a 112 x 112 crop: left eye, right eye, nose tip, left and right
# mouth corner, in ldfa's landmark order (``ldfa.plugin.models.detector.backends``).
ARCFACE_TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                                 [41.5493, 92.3655], [70.7299, 92.2041]])


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2 x 3 matrix of the rotation, uniform scale and shift that maps ``source`` points onto
    ``target`` points best in least squares (Umeyama 1991, without reflection)."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(t.T @ s / len(source))
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(sigma) @ d) / s.var(0).sum()
    return np.hstack([scale * rotation, (mu_t - scale * rotation @ mu_s)[:, None]])
