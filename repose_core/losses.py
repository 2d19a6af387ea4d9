"""Training losses (torch): MPJPE, velocity, and the RePOSE relational depth-consistency terms.

RePOSE (Sun et al., ECCV 2024, "3D Human Pose Estimation via Spatio-Temporal Depth Relational
Consistency") adds to the absolute-position loss two terms that supervise depth *order*, which
stays well defined for occluded joints whose absolute depth is ambiguous:

- spatial: for joints i, j of one frame, the predicted depth difference must have the sign of
  the ground truth's (which knee is in front, is the hand in front of the hip);
- temporal: for one joint at frames t, u, the predicted depth change must have the direction
  of the ground truth's (is the foot moving towards or away from the camera).

Depth is z, index 2 of the camera frame (z forward, metres). Poses are ``(B, T, 17, 3)``.

How the variants relate to the paper and its official code (github.com/StupidAdam/RePOSE,
``lib/model/loss.py``: ``loss_spatial_rank`` / ``loss_temporal_rank``):

- ``variant="hinge"`` is the official loss: for a pair the ground truth orders,
  ``max(0, -sign(gt_i - gt_j) * (z_i - z_j))``, no margin; pairs with equal ground-truth depth
  are skipped. The official code averages over all ``K*K`` ordered index pairs of a frame
  (``T*T`` frame pairs of a joint for the temporal term), half of which can never contribute.
  Here the sum is divided by the number of contributing pairs instead, so that the scale of the
  term does not depend on how many pairs exist or are tied: ours = official * ``B*T*K*K`` /
  (number of ordered pairs). With no ties that is a constant factor (about 2.1 for K=17).
- The official temporal term takes all frame pairs of the clip; that is ``mode="window"``.
  The paper describes consecutive frames; that is ``mode="adjacent"`` (``stride=1``).
- ``variant="hinge_margin"`` asks the predicted gap to exceed ``margin`` metres in the right
  direction (a standard ranking hinge; not in the official code).
- ``variant="logistic"`` is the smooth ranking loss ``tau * softplus(-s * gap / tau)`` (RankNet,
  scaled by ``tau`` so it is in metres like the hinge and tends to it as ``tau -> 0``). It is
  never exactly 0, and it keeps pushing correctly ordered pairs apart a little.
- ``tie_threshold`` / ``ties``: ground-truth gaps of at most ``tie_threshold`` metres count as
  ties; ``ties="ignore"`` skips them (official, with threshold 0), ``ties="pull"`` penalises a
  predicted gap beyond the threshold, ``max(0, |gap| - tie_threshold)``, pulling the pair
  together.
- ``pairs="neighbours"`` restricts the spatial term to ``skeleton.NEIGHBOUR_PAIRS`` (bones,
  grandparent-grandchild and left/right counterparts) instead of all 136 pairs.
- ``weights`` (B, T, 17) are per-joint importances (visibility, confidence, or ``1 + occluded``
  to emphasise occluded joints). A pair weighs the mean of its two ends' weights, so a joint
  of weight 0 still receives the order signal through pairs with other joints (spatial) or with
  frames where it has weight (temporal): that is the point of the method. (A joint of weight 0
  in every frame of a window gets no temporal signal.) Weights multiply the penalties; the
  normaliser stays the pair count.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .skeleton import NEIGHBOUR_PAIRS, NUM_JOINTS

VARIANTS = ("hinge", "hinge_margin", "logistic")
TIE_MODES = ("ignore", "pull")
PAIR_SETS = ("all", "neighbours")
TEMPORAL_MODES = ("adjacent", "window")

# Elements of one (B, K, chunk, T) block of frame-pair gaps in the temporal window mode: 2**24
# float32 values are 64 MiB, and a block keeps a handful of such tensors alive at once.
WINDOW_BLOCK_ELEMENTS = 2**24


# ----------------------------------------------------------------------------- absolute terms
def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean distance over all joints and frames (metres). No alignment: the caller
    (``RePoseLoss``) root-centres both poses."""
    _check_same_shape(pred, target)
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


def weighted_mpjpe(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``mean(weights * ||pred - target||)``; ``weights`` broadcast to ``pred.shape[:-1]``."""
    _check_same_shape(pred, target)
    distances = torch.linalg.vector_norm(pred - target, dim=-1)
    return (_joint_weights(weights, distances.shape, distances) * distances).mean()


def velocity_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean distance between predicted and true frame-to-frame displacements.

    Time is axis -3. Zero (still part of the graph) for a single frame.
    """
    _check_same_shape(pred, target)
    if pred.dim() < 3 or pred.shape[-3] < 2:
        return pred.sum() * 0.0
    velocity_pred = pred[..., 1:, :, :] - pred[..., :-1, :, :]
    velocity_target = target[..., 1:, :, :] - target[..., :-1, :, :]
    return torch.linalg.vector_norm(velocity_pred - velocity_target, dim=-1).mean()


# ----------------------------------------------------------------------------- pair penalty
@dataclass(frozen=True)
class _OrderSpec:
    """How one pair's predicted gap is scored against its ground-truth gap."""

    variant: str
    margin: float
    temperature: float
    tie_threshold: float
    ties: str

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.ties not in TIE_MODES:
            raise ValueError(f"ties must be one of {TIE_MODES}, got {self.ties!r}")
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0 metres, got {self.margin}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0 metres, got {self.temperature}")
        if self.tie_threshold < 0:
            raise ValueError(f"tie_threshold must be >= 0 metres, got {self.tie_threshold}")


def _order_penalty(
    pred_gap: torch.Tensor,
    target_gap: torch.Tensor,
    pair_weight: torch.Tensor | None,
    spec: _OrderSpec,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of pair penalties and the number of contributing pairs, for gaps of any shape."""
    with torch.no_grad():
        ordered = target_gap.abs() > spec.tie_threshold
        # +1 / -1 for ordered pairs, 0 for ties: a tie then scores 0 in every variant below
        # without a mask, and no NaN can come from it.
        sign = torch.sign(target_gap) * ordered
    agreement = sign * pred_gap  # > 0 when the predicted order agrees with the ground truth
    if spec.variant == "hinge":
        penalty = torch.relu(-agreement)
    elif spec.variant == "hinge_margin":
        penalty = torch.relu(spec.margin - agreement) * ordered
    else:
        penalty = spec.temperature * F.softplus(-agreement / spec.temperature) * ordered
    if spec.ties == "pull":
        penalty = penalty + torch.relu(pred_gap.abs() - spec.tie_threshold) * ~ordered
        count = torch.tensor(float(pred_gap.numel()), device=pred_gap.device)
    else:
        count = ordered.sum(dtype=pred_gap.dtype)
    if pair_weight is not None:
        penalty = penalty * pair_weight
    return penalty.sum(), count


def _mean_over_pairs(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    # No contributing pair (T=1, all ties): the loss is 0, not 0/0.
    return total / count.clamp(min=1.0)


# ----------------------------------------------------------------------------- spatial
def _pair_matrices(pairs: str, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(17, P) matrices: ``z @ gap_matrix`` gives z_i - z_j for each pair (i, j);
    ``w @ mean_matrix`` gives the pair's mean joint weight. A matmul is one BLAS call forward
    and backward, cheaper than gathering two (B, T, P) copies."""
    if pairs == "all":
        index = torch.triu_indices(NUM_JOINTS, NUM_JOINTS, offset=1)
        first, second = index[0], index[1]
    elif pairs == "neighbours":
        first = torch.tensor([i for i, _ in NEIGHBOUR_PAIRS])
        second = torch.tensor([j for _, j in NEIGHBOUR_PAIRS])
    else:
        raise ValueError(f"pairs must be one of {PAIR_SETS}, got {pairs!r}")
    columns = torch.arange(first.numel())
    gap_matrix = torch.zeros(NUM_JOINTS, first.numel(), dtype=like.dtype)
    gap_matrix[first, columns] = 1.0
    gap_matrix[second, columns] = -1.0
    mean_matrix = gap_matrix.abs() * 0.5
    return gap_matrix.to(like.device), mean_matrix.to(like.device)


def spatial_depth_order_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    variant: str = "hinge",
    margin: float = 0.02,
    temperature: float = 0.02,
    tie_threshold: float = 0.0,
    ties: str = "ignore",
    pairs: str = "all",
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Spatial relational depth consistency over joint pairs of each frame (see module doc).

    pred, target: (B, T, 17, 3) metres, camera frame. weights: per-joint (B, T, 17) or
    broadcastable, or None. margin, temperature, tie_threshold: metres (the defaults suit the
    5-50 cm depth gaps between body joints). Returns the mean penalty per contributing pair.
    """
    _check_poses(pred, target)
    spec = _OrderSpec(variant, margin, temperature, tie_threshold, ties)
    gap_matrix, mean_matrix = _pair_matrices(pairs, pred)
    pred_gap = pred[..., 2] @ gap_matrix
    target_gap = target[..., 2].detach() @ gap_matrix
    pair_weight = None
    if weights is not None:
        pair_weight = _joint_weights(weights, pred.shape[:-1], pred) @ mean_matrix
    return _mean_over_pairs(*_order_penalty(pred_gap, target_gap, pair_weight, spec))


# ----------------------------------------------------------------------------- temporal
def temporal_depth_order_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    variant: str = "hinge",
    mode: str = "adjacent",
    stride: int = 1,
    margin: float = 0.005,
    temperature: float = 0.005,
    tie_threshold: float = 0.0,
    ties: str = "ignore",
    weights: torch.Tensor | None = None,
    chunk: int | None = None,
) -> torch.Tensor:
    """Temporal relational depth consistency of each joint across frames (see module doc).

    mode="adjacent": frame pairs (t, t + stride), as the paper describes.
    mode="window": all frame pairs of the window, as the official code does; computed in blocks
    of ``chunk`` first frames (None: as many as fit :data:`WINDOW_BLOCK_ELEMENTS`), each block
    recomputed in the backward pass, so memory never holds a dense B x K x T x T tensor.
    ``stride`` applies to the adjacent mode only.
    pred, target: (B, T, 17, 3); weights: per-joint (B, T, 17) or broadcastable, or None.
    margin, temperature, tie_threshold: metres (defaults suit per-frame depth changes of a few
    centimetres at 30 fps).
    """
    _check_poses(pred, target)
    spec = _OrderSpec(variant, margin, temperature, tie_threshold, ties)
    joint_weight = None if weights is None else _joint_weights(weights, pred.shape[:-1], pred)
    depth_pred = pred[..., 2]
    depth_target = target[..., 2].detach()
    if mode == "adjacent":
        if not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be a positive int, got {stride!r}")
        # Slices are empty when stride >= T: no pairs, and the loss comes out 0.
        pred_gap = depth_pred[:, stride:] - depth_pred[:, :-stride]
        target_gap = depth_target[:, stride:] - depth_target[:, :-stride]
        pair_weight = None
        if joint_weight is not None:
            pair_weight = 0.5 * (joint_weight[:, stride:] + joint_weight[:, :-stride])
        return _mean_over_pairs(*_order_penalty(pred_gap, target_gap, pair_weight, spec))
    if mode == "window":
        if stride != 1:
            raise ValueError(f"stride applies to mode='adjacent' only; got stride={stride} with mode='window'")
        return _window_loss(depth_pred, depth_target, joint_weight, spec, chunk)
    raise ValueError(f"mode must be one of {TEMPORAL_MODES}, got {mode!r}")


def _window_block(
    depth_pred: torch.Tensor,
    depth_target: torch.Tensor,
    joint_weight: torch.Tensor | None,
    start: int,
    stop: int,
    spec: _OrderSpec,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Penalty sum and pair count for first frames ``start:stop`` against every frame.

    Inputs are (B, K, T). Scores ordered frame pairs (t, u) in both orders: each unordered pair
    then counts twice in the sum and in the count alike, and the diagonal (t = u: a zero gap,
    a tie) contributes nothing but its count under ``ties="pull"``, removed here.
    """
    pred_gap = depth_pred[..., None, :] - depth_pred[..., start:stop, None]
    target_gap = depth_target[..., None, :] - depth_target[..., start:stop, None]
    pair_weight = None
    if joint_weight is not None:
        pair_weight = 0.5 * (joint_weight[..., None, :] + joint_weight[..., start:stop, None])
    total, count = _order_penalty(pred_gap, target_gap, pair_weight, spec)
    if spec.ties == "pull":
        count = count - depth_pred.shape[0] * depth_pred.shape[1] * (stop - start)
    return total, count


def _window_loss(
    depth_pred: torch.Tensor,
    depth_target: torch.Tensor,
    joint_weight: torch.Tensor | None,
    spec: _OrderSpec,
    chunk: int | None,
) -> torch.Tensor:
    batch, frames, joints = depth_pred.shape
    if chunk is None:
        chunk = max(1, WINDOW_BLOCK_ELEMENTS // max(1, batch * joints * frames))
    elif not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int (first frames per block) or None, got {chunk!r}")
    depth_pred = depth_pred.transpose(1, 2)  # (B, K, T): frame pairs of a joint are contiguous
    depth_target = depth_target.transpose(1, 2)
    if joint_weight is not None:
        joint_weight = joint_weight.transpose(1, 2)
    if chunk >= frames:
        return _mean_over_pairs(*_window_block(depth_pred, depth_target, joint_weight, 0, frames, spec))
    total = depth_pred.new_zeros(())
    count = depth_pred.new_zeros(())
    for start in range(0, frames, chunk):
        # Recomputed in backward instead of stored: the memory bound holds for training too.
        block_total, block_count = checkpoint(
            _window_block, depth_pred, depth_target, joint_weight, start,
            min(start + chunk, frames), spec, use_reentrant=False,
        )
        total = total + block_total
        count = count + block_count
    return _mean_over_pairs(total, count)


# ----------------------------------------------------------------------------- combined
class RePoseLoss(torch.nn.Module):
    """``L = MPJPE + lambda_spatial * L_spatial + lambda_temporal * L_temporal``.

    Plug-and-play for any model output ``(B, T, 17, 3)``: both poses are root-centred (joint 0
    subtracted) first, per docs/architecture.md. ``forward(pred, target, weights=None)``
    returns ``(total, {"mpjpe", "spatial", "temporal"})``; the parts are detached, for logging.
    ``weights`` (B, T, 17) weight every term (the MPJPE term becomes :func:`weighted_mpjpe`).
    A term whose lambda is 0 is not computed and reports 0.

    The ``spatial_*`` / ``temporal_*`` options are those of :func:`spatial_depth_order_loss`
    and :func:`temporal_depth_order_loss`.
    """

    def __init__(
        self,
        lambda_spatial: float = 1.0,
        lambda_temporal: float = 1.0,
        spatial_variant: str = "hinge",
        spatial_margin: float = 0.02,
        spatial_temperature: float = 0.02,
        spatial_tie_threshold: float = 0.0,
        spatial_ties: str = "ignore",
        pairs: str = "all",
        temporal_variant: str = "hinge",
        temporal_mode: str = "adjacent",
        stride: int = 1,
        temporal_margin: float = 0.005,
        temporal_temperature: float = 0.005,
        temporal_tie_threshold: float = 0.0,
        temporal_ties: str = "ignore",
        chunk: int | None = None,
    ):
        super().__init__()
        if lambda_spatial < 0 or lambda_temporal < 0:
            raise ValueError(
                f"lambda_spatial and lambda_temporal must be >= 0, got {lambda_spatial}, {lambda_temporal}"
            )
        self.lambda_spatial = float(lambda_spatial)
        self.lambda_temporal = float(lambda_temporal)
        self.spatial_options = dict(
            variant=spatial_variant, margin=spatial_margin, temperature=spatial_temperature,
            tie_threshold=spatial_tie_threshold, ties=spatial_ties, pairs=pairs,
        )
        self.temporal_options = dict(
            variant=temporal_variant, mode=temporal_mode, stride=stride, margin=temporal_margin,
            temperature=temporal_temperature, tie_threshold=temporal_tie_threshold,
            ties=temporal_ties, chunk=chunk,
        )
        # Fail at construction, not at the first batch, on a bad option name.
        _OrderSpec(spatial_variant, spatial_margin, spatial_temperature, spatial_tie_threshold, spatial_ties)
        _OrderSpec(temporal_variant, temporal_margin, temporal_temperature, temporal_tie_threshold, temporal_ties)
        if pairs not in PAIR_SETS:
            raise ValueError(f"pairs must be one of {PAIR_SETS}, got {pairs!r}")
        if temporal_mode not in TEMPORAL_MODES:
            raise ValueError(f"temporal_mode must be one of {TEMPORAL_MODES}, got {temporal_mode!r}")

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        _check_poses(pred, target)
        pred = pred - pred[:, :, :1]
        target = target - target[:, :, :1]
        absolute = mpjpe(pred, target) if weights is None else weighted_mpjpe(pred, target, weights)
        total = absolute
        zero = absolute.new_zeros(())
        spatial = temporal = zero
        if self.lambda_spatial:
            spatial = spatial_depth_order_loss(pred, target, weights=weights, **self.spatial_options)
            total = total + self.lambda_spatial * spatial
        if self.lambda_temporal:
            temporal = temporal_depth_order_loss(pred, target, weights=weights, **self.temporal_options)
            total = total + self.lambda_temporal * temporal
        parts = {"mpjpe": absolute.detach(), "spatial": spatial.detach(), "temporal": temporal.detach()}
        return total, parts


# ----------------------------------------------------------------------------- checks
def _check_same_shape(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")


def _check_poses(pred: torch.Tensor, target: torch.Tensor) -> None:
    _check_same_shape(pred, target)
    if pred.dim() != 4 or pred.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"pred and target must have shape (B, T, {NUM_JOINTS}, 3), got {tuple(pred.shape)}")


def _joint_weights(weights: torch.Tensor, shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
    """Per-joint weights broadcast to ``shape`` (B, T, 17), as constants of ``like``'s dtype."""
    weights = torch.as_tensor(weights, dtype=like.dtype, device=like.device).detach()
    try:
        return weights.expand(shape)
    except RuntimeError:
        raise ValueError(
            f"weights of shape {tuple(weights.shape)} do not broadcast to the per-joint shape {tuple(shape)}"
        ) from None
