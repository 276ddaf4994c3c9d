"""The coverage loss of See, Liu & Manning 2017: attending again to source words already attended to costs."""

from keras import ops


def coverage_loss(weights, target_mask):
    """Mean over real target steps of `Σ_i min(a_i^t, c_i^t)`, the coverage `c^t = Σ_{t' < t} a^{t'}`.

    Args:
        weights: Attention weights `a`, (batch, target_time, source_time).
        target_mask: (batch, target_time), False at padded target steps.

    Returns:
        A float32 scalar; 0 where no step attends again to what earlier steps attended to.

    Reference: See, Liu & Manning 2017, "Get To The Point: Summarization
    with Pointer-Generator Networks", eq. 12.

    Example:

    >>> weights = np.array([[[1.0, 0.0], [0.5, 0.5]]], "float32")
    >>> float(coverage_loss(weights, np.array([[True, True]])))  # steps: 0, then min(.5, 1) + min(.5, 0)
    0.25
    """
    weights = ops.cast(weights, "float32")
    coverage = ops.cumsum(weights, axis=1) - weights  # c^t, the attention of the steps before t
    per_step = ops.sum(ops.minimum(weights, coverage), axis=-1)  # (batch, target_time)
    mask = ops.cast(target_mask, "float32")
    return ops.divide_no_nan(ops.sum(per_step * mask), ops.sum(mask))
