"""Small compiled linear-algebra kernels shared by the online learners' numba loops.

Explicit loops rather than BLAS calls: the vectors are a handful of entries long, so a call into BLAS costs
more than the arithmetic, and the fixed summation order keeps results identical across machines.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def dot(left, right):
    """<left, right> of two 1-D arrays of the same length."""
    total = 0.0
    for i in range(left.shape[0]):
        total += left[i] * right[i]
    return total


@njit(cache=True)
def matvec(matrix, vector, out):
    """out <- matrix @ vector."""
    for i in range(matrix.shape[0]):
        out[i] = dot(matrix[i], vector)


@njit(cache=True)
def quadratic_form(matrix, vector):
    """vector' matrix vector."""
    total = 0.0
    for i in range(vector.shape[0]):
        for j in range(vector.shape[0]):
            total += vector[i] * matrix[i, j] * vector[j]
    return total


@njit(cache=True)
def sherman_morrison(inverse, u, work):
    """inverse <- (G + u u')^-1 in place, given inverse = G^-1 (Sherman-Morrison, O(d^2)); ``work`` is
    scratch space of u's length."""
    matvec(inverse, u, work)
    denominator = 1.0 + dot(u, work)
    for i in range(u.shape[0]):
        for j in range(u.shape[0]):
            inverse[i, j] -= work[i] * work[j] / denominator
