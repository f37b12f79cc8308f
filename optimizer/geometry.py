"""Vectorised great-circle distances.

The planner's travel models (:mod:`optimizer.travel`) build on these.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from optimizer.model import EARTH_RADIUS_KM

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def haversine_matrix_km(
    lon_a: FloatArray, lat_a: FloatArray, lon_b: FloatArray, lat_b: FloatArray
) -> FloatArray:
    """Great-circle distances (km) between every point of A (rows) and of B (columns)."""
    phi_a = np.radians(lat_a)[:, None]
    phi_b = np.radians(lat_b)[None, :]
    dphi = phi_b - phi_a
    dlmb = np.radians(lon_b)[None, :] - np.radians(lon_a)[:, None]
    h = np.sin(dphi / 2) ** 2 + np.cos(phi_a) * np.cos(phi_b) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))))
