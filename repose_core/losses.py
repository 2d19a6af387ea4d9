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

Every term is vectorised over batch, frames and pairs. The one Python loop is the window
mode's loop over blocks of first frames, which is what bounds its memory (and keeps each block
in cache). Timings: bench/bench_losses.py, figures in docs/benchmarks.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .skeleton import (DIRECTION_BONES, JOINT_INDEX, NEIGHBOUR_PAIRS, NUM_JOINTS, PARENTS, SYMMETRY_PAIRS,
                       root_centred)

VARIANTS = ("hinge", "hinge_margin", "logistic")
TIE_MODES = ("ignore", "pull")
PAIR_SETS = ("all", "neighbours")
TEMPORAL_MODES = ("adjacent", "window")

# Most elements of one (B, K, chunk, T) block of frame-pair gaps in the temporal window mode,
# per device type. On CPU a block that stays in cache (2**19 float32 = 2 MiB) is several times
# faster than one large block (bench/bench_losses.py); on a GPU large blocks keep the kernel
# count down, and 2**26 float32 (256 MiB, a handful alive at once) still bounds the memory.
WINDOW_BLOCK_ELEMENTS: dict[str, int] = {"cpu": 2**19, "other": 2**26}

# Metres: the floor of a bone length the relative bone terms divide by.
_MIN_BONE_LENGTH = 1e-6


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


def up_direction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - cos`` of the angle between predicted and true up directions (B, T, 3): the
    gravity head's term (0 when aligned, 2 when opposite; ~angle^2 / 2 for small errors)."""
    _check_same_shape(pred, target)
    return (1.0 - torch.nn.functional.cosine_similarity(pred, target, dim=-1)).mean()


# The body's axes whose lean an import shows: (lower joints, upper joints), each end their mean.
LEAN_AXES: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((JOINT_INDEX["pelvis"],), (JOINT_INDEX["thorax"],)),                        # torso
    ((JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"]), (JOINT_INDEX["head"],)),  # whole body
)


def levelled_lean_loss(pred: torch.Tensor, target: torch.Tensor, up_pred: torch.Tensor,
                       up_target: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - cos`` between the predicted and the true body axes (``LEAN_AXES``) of poses
    (B, T, 17, 3), each levelled by its own up direction (B, T, 3): the predicted axis turned by
    the smallest rotation that takes the predicted up onto the true one. What an import shows
    is the pose levelled by the predicted up, so a lean error is the pose's tilt and the up's
    error together; MPJPE and the up term each see one of them, and a network unsure of a
    camera's tilt can hedge both ways at once. This term asks them to agree."""
    _check_same_shape(pred, target)
    _check_same_shape(up_pred, up_target)
    a, b = F.normalize(up_pred, dim=-1), F.normalize(up_target, dim=-1)
    axis = torch.cross(a, b, dim=-1)                      # |axis| = sin, a . b = cos
    scale = 1.0 / (1.0 + (a * b).sum(-1, keepdim=True)).clamp_min(1e-6)
    terms = []
    for lower, upper in LEAN_AXES:
        got = pred[..., list(upper), :].mean(-2) - pred[..., list(lower), :].mean(-2)
        true = target[..., list(upper), :].mean(-2) - target[..., list(lower), :].mean(-2)
        turn = torch.cross(axis, got, dim=-1)            # Rodrigues for the rotation a -> b
        levelled = got + turn + scale * torch.cross(axis, turn, dim=-1)
        terms.append(1.0 - F.cosine_similarity(levelled, true, dim=-1))
    return torch.stack(terms).mean()


_BONE_ENDS = [joint for joint in range(NUM_JOINTS) if PARENTS[joint] >= 0]   # each bone's child joint


def bone_direction_loss(pred: torch.Tensor, target: torch.Tensor, bones: Sequence[str] | None = None
                        ) -> torch.Tensor:
    """Mean ``1 - cos`` of the angle between predicted and true bone vectors over
    ``skeleton.DIRECTION_BONES`` (limbs, torso, hip and shoulder lines; ``bones``: those of these
    names) of poses (..., 17, 3): what an armature's rotations are made of, and what
    ``metrics.bone_direction_error_deg`` scores. MPJPE weighs a joint by its distance, so a
    forearm's 20 degrees (a few centimetres at the wrist) costs it little more than the torso's 8."""
    _check_same_shape(pred, target)
    parents, children = _direction_bone_ends(bones)
    got = pred[..., children, :] - pred[..., parents, :]
    true = target[..., children, :] - target[..., parents, :]
    return (1.0 - F.cosine_similarity(got, true, dim=-1, eps=_MIN_BONE_LENGTH)).mean()


def _direction_bone_ends(bones: Sequence[str] | None) -> tuple[list[int], list[int]]:
    """(parents, children) of the named ``skeleton.DIRECTION_BONES``, all of them for None."""
    names = list(DIRECTION_BONES) if bones is None else list(bones)
    unknown = sorted(set(names) - set(DIRECTION_BONES))
    if unknown or not names:
        raise ValueError(f"direction bones must be some of {list(DIRECTION_BONES)}, got {names}")
    return [DIRECTION_BONES[n][0] for n in names], [DIRECTION_BONES[n][1] for n in names]


def bone_length_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean ``|predicted / true length - 1|`` over the 16 bones of poses (..., 17, 3). The length
    :func:`bone_direction_loss` leaves free: with directions asked for, a lifter unsure of a
    foreshortened forearm's depth makes it short (the bundled clip's right one, 30 %)."""
    _check_same_shape(pred, target)
    true = _bone_lengths(target, _BONE_ENDS).clamp_min(_MIN_BONE_LENGTH)
    return ((_bone_lengths(pred, _BONE_ENDS) - true).abs() / true).mean()


def bone_symmetry_loss(pred: torch.Tensor) -> torch.Tensor:
    """Mean ``|left - right| / mean(left, right)`` bone length over the six left/right bone pairs
    (hip, thigh, shin, shoulder, upper arm, forearm) of poses (..., 17, 3). Every target is
    symmetric, yet nothing else asks a lifter's *errors* to be: guessing the depth of a
    foreshortened forearm on one side only, it makes that forearm short (the bundled clip's right
    one). Relative, so that shrinking both bones is no way out (measured in metres, the term took
    a fifth off the bundled clip's arms)."""
    left, right = (list(side) for side in zip(*SYMMETRY_PAIRS))
    left_lengths, right_lengths = _bone_lengths(pred, left), _bone_lengths(pred, right)
    mean = (0.5 * (left_lengths + right_lengths)).clamp_min(_MIN_BONE_LENGTH)
    return ((left_lengths - right_lengths).abs() / mean).mean()


def bone_constancy_loss(pred: torch.Tensor) -> torch.Tensor:
    """Mean ``|length / its window mean - 1|`` over the 16 bones of poses (..., T, 17, 3), time
    axis -3. A body's bones keep their length, yet a lifter that sees a limb foreshortened
    guesses it short in those frames only (the bundled clip's forearms swing from 0.14 to 0.26 m
    within a second); this asks one length per bone across the window. Relative, as
    :func:`bone_symmetry_loss` is. 0 for a single frame."""
    lengths = _bone_lengths(pred, _BONE_ENDS)
    mean = lengths.mean(dim=-2, keepdim=True)
    return ((lengths - mean).abs() / mean.clamp_min(_MIN_BONE_LENGTH)).mean()


def _bone_lengths(pred: torch.Tensor, joints: list[int]) -> torch.Tensor:
    """Lengths (..., len(joints)) of the bones ending at ``joints`` of poses (..., 17, 3)."""
    return torch.linalg.vector_norm(pred[..., joints, :] - pred[..., [PARENTS[j] for j in joints], :], dim=-1)


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


def _penalty_and_slope(
    pred_gap: torch.Tensor,
    target_gap: torch.Tensor,
    pair_weight: torch.Tensor | None,
    spec: _OrderSpec,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Score pairs of any shape: (penalty sum, contributing pair count, d sum / d pred_gap).

    The slope is written out rather than left to autograd: it costs a few elementwise passes
    here instead of a saved tensor per operation, and it lets the window mode accumulate
    gradients block by block (see :class:`_WindowOrderLoss`). Call without autograd.
    """
    # Masks are kept as float 0/1 and built from sign/clamp: on CPU a comparison to bool costs
    # about 4 float passes and masked_fill / where about 30 (torch 2.13, a million elements).
    sign = torch.sign(target_gap)
    if spec.tie_threshold > 0:
        ordered = torch.sign(target_gap.abs().sub_(spec.tie_threshold)).clamp_(min=0.0)
        sign.mul_(ordered)
    else:
        ordered = sign.abs()
    # sign: +1 / -1 for ordered pairs, 0 for ties, so ties score 0 and get slope 0 in every
    # variant below, and no NaN can come from them.
    agreement = sign * pred_gap  # > 0 when the predicted order agrees with the ground truth
    if spec.variant == "hinge":
        # penalty max(0, -a); slope -sign where a < 0 (sign(a) clamped to [-1, 0] is -1 there).
        slope = torch.sign(agreement).clamp_(max=0.0).mul_(sign)
        penalty = agreement.neg_().clamp_(min=0.0)
    elif spec.variant == "hinge_margin":
        # penalty max(0, margin - a); slope -sign where a < margin.
        penalty = agreement.neg_().add_(spec.margin)
        slope = torch.sign(penalty).clamp_(min=0.0).mul_(sign).neg_()
        penalty.clamp_(min=0.0).mul_(ordered)
    else:
        # penalty tau * softplus(-a / tau); slope -sign * sigmoid(-a / tau).
        scaled = agreement.neg_().div_(spec.temperature)
        slope = torch.sigmoid(scaled).mul_(sign).neg_()
        penalty = F.softplus(scaled).mul_(spec.temperature).mul_(ordered)
    if spec.ties == "pull":
        # penalty max(0, |g| - tie_threshold) on ties; slope sign(g) where |g| > tie_threshold.
        tied = 1.0 - ordered
        excess = pred_gap.abs().sub_(spec.tie_threshold)
        slope.add_(torch.sign(excess).clamp_(min=0.0).mul_(tied).mul_(torch.sign(pred_gap)))
        penalty.add_(excess.clamp_(min=0.0).mul_(tied))
        count = torch.tensor(float(pred_gap.numel()), dtype=pred_gap.dtype, device=pred_gap.device)
    else:
        count = ordered.sum()
    if pair_weight is not None:
        penalty.mul_(pair_weight)
        slope.mul_(pair_weight)
    return penalty.sum(), count, slope


class _PairOrderLoss(torch.autograd.Function):
    """Mean pair penalty over contributing pairs, differentiable in ``pred_gap``."""

    @staticmethod
    def forward(ctx, pred_gap, target_gap, pair_weight, spec):
        total, count, slope = _penalty_and_slope(pred_gap, target_gap, pair_weight, spec)
        # No contributing pair (T=1, all ties): the loss is 0, not 0/0.
        count = count.clamp(min=1.0)
        ctx.save_for_backward(slope, count)
        return total / count

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        slope, count = ctx.saved_tensors
        return slope * (grad_output / count), None, None, None


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
    with torch.no_grad():
        target_gap = target[..., 2] @ gap_matrix
        pair_weight = None
        if weights is not None:
            pair_weight = _joint_weights(weights, pred.shape[:-1], pred) @ mean_matrix
    return _PairOrderLoss.apply(pred_gap, target_gap, pair_weight, spec)


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
    of ``chunk`` first frames (None: as many as fit :data:`WINDOW_BLOCK_ELEMENTS`) whose
    gradients are accumulated as they go, so memory never holds a dense B x K x T x T tensor.
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
        return _PairOrderLoss.apply(pred_gap, target_gap, pair_weight, spec)
    if mode == "window":
        if stride != 1:
            raise ValueError(f"stride applies to mode='adjacent' only; got stride={stride} with mode='window'")
        return _window_loss(depth_pred, depth_target, joint_weight, spec, chunk)
    raise ValueError(f"mode must be one of {TEMPORAL_MODES}, got {mode!r}")


def _window_loss(
    depth_pred: torch.Tensor,
    depth_target: torch.Tensor,
    joint_weight: torch.Tensor | None,
    spec: _OrderSpec,
    chunk: int | None,
) -> torch.Tensor:
    batch, frames, joints = depth_pred.shape
    if chunk is None:
        budget = WINDOW_BLOCK_ELEMENTS.get(depth_pred.device.type, WINDOW_BLOCK_ELEMENTS["other"])
        chunk = max(1, budget // max(1, batch * joints * frames))
    elif not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int (first frames per block) or None, got {chunk!r}")
    # (B, K, T): the frame pairs of one joint are then contiguous.
    weight = None if joint_weight is None else joint_weight.transpose(1, 2).contiguous()
    return _WindowOrderLoss.apply(
        depth_pred.transpose(1, 2), depth_target.transpose(1, 2).contiguous(), weight, spec, chunk
    )


class _WindowOrderLoss(torch.autograd.Function):
    """All frame pairs (t < u) of each joint, in blocks of ``chunk`` first frames.

    Each block's slopes are summed into the gradient of the depths (B, K, T) as soon as they
    are computed, so nothing of size B x K x T x T is ever kept, in the forward pass or for the
    backward one. Block ``t0:t1`` scores its first frames against the later frames ``t1:T``
    (each pair once) and against themselves ``t0:t1`` (each pair in both orders: halved).
    """

    @staticmethod
    def forward(ctx, depth_pred, depth_target, joint_weight, spec, chunk):
        batch, joints, frames = depth_pred.shape
        grad = torch.zeros_like(depth_pred)
        total = depth_pred.new_zeros(())
        count = depth_pred.new_zeros(())
        for t0 in range(0, frames, chunk):
            t1 = min(t0 + chunk, frames)
            rows = slice(t0, t1)
            for cols, scale in ((slice(t0, t1), 0.5), (slice(t1, frames), 1.0)):
                if cols.start == cols.stop:
                    continue
                pred_gap = depth_pred[..., None, cols] - depth_pred[..., rows, None]
                target_gap = depth_target[..., None, cols] - depth_target[..., rows, None]
                pair_weight = None
                if joint_weight is not None:
                    pair_weight = 0.5 * (joint_weight[..., None, cols] + joint_weight[..., rows, None])
                block_total, block_count, slope = _penalty_and_slope(pred_gap, target_gap, pair_weight, spec)
                if scale != 1.0 and spec.ties == "pull":
                    block_count = block_count - batch * joints * (t1 - t0)  # the diagonal t = u
                total += scale * block_total
                count += scale * block_count
                # gap = z_u - z_t: slope flows + to the later frame u, - to the first frame t.
                grad[..., cols] += scale * slope.sum(dim=-2)
                grad[..., rows] -= scale * slope.sum(dim=-1)
        count = count.clamp(min=1.0)
        ctx.save_for_backward(grad / count)
        return total / count

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None, None, None


# ----------------------------------------------------------------------------- combined
class RePoseLoss(torch.nn.Module):
    """``L = MPJPE + lambda_spatial * L_spatial + lambda_temporal * L_temporal [+ lambda_up * L_up]``.

    Plug-and-play for any model output ``(B, T, 17, 3)``: both poses are root-centred (joint 0
    subtracted) first, per docs/architecture.md. ``forward(pred, target, weights=None)``
    returns ``(total, {"mpjpe", "spatial", "temporal"})``; the parts are detached, for logging.
    ``weights`` (B, T, 17) weight every term (the MPJPE term becomes :func:`weighted_mpjpe`).
    ``up`` = (predicted, true) up directions (B, T, 3) of a model with a gravity head adds
    ``lambda_up`` * :func:`up_direction_loss` (part "up"). ``lambda_symmetry`` adds
    :func:`bone_symmetry_loss` of the prediction (part "symmetry"), ``lambda_constancy``
    :func:`bone_constancy_loss` (part "constancy"), ``lambda_lean`` (with ``up``)
    :func:`levelled_lean_loss` (part "lean"), ``lambda_direction`` :func:`bone_direction_loss`
    (part "direction"; over ``direction_bones``, all by default), ``lambda_length``
    :func:`bone_length_loss` (part "length"). A term whose
    lambda is 0 (or whose input is absent) is not computed and reports 0.

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
        lambda_up: float = 0.0,
        lambda_symmetry: float = 0.0,
        lambda_constancy: float = 0.0,
        lambda_lean: float = 0.0,
        lambda_direction: float = 0.0,
        lambda_length: float = 0.0,
        direction_bones: Sequence[str] | None = None,
    ):
        super().__init__()
        lambdas = dict(lambda_spatial=lambda_spatial, lambda_temporal=lambda_temporal, lambda_up=lambda_up,
                       lambda_symmetry=lambda_symmetry, lambda_constancy=lambda_constancy,
                       lambda_lean=lambda_lean, lambda_direction=lambda_direction, lambda_length=lambda_length)
        if min(lambdas.values()) < 0:
            raise ValueError(f"every lambda must be >= 0, got {lambdas}")
        self.lambda_spatial = float(lambda_spatial)
        self.lambda_temporal = float(lambda_temporal)
        self.lambda_up = float(lambda_up)
        self.lambda_symmetry = float(lambda_symmetry)
        self.lambda_constancy = float(lambda_constancy)
        self.lambda_lean = float(lambda_lean)
        self.lambda_direction = float(lambda_direction)
        self.lambda_length = float(lambda_length)
        self.direction_bones = None if direction_bones is None else list(direction_bones)
        _direction_bone_ends(self.direction_bones)   # fail at construction on a bad name
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
        self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None,
        up: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        _check_poses(pred, target)
        pred, target = root_centred(pred), root_centred(target)
        absolute = mpjpe(pred, target) if weights is None else weighted_mpjpe(pred, target, weights)
        total = absolute
        zero = absolute.new_zeros(())
        spatial = temporal = up_term = symmetry = constancy = lean = direction = length = zero
        if self.lambda_up and up is not None:
            up_term = up_direction_loss(*up)
            total = total + self.lambda_up * up_term
        if self.lambda_lean and up is not None:
            lean = levelled_lean_loss(pred, target, *up)
            total = total + self.lambda_lean * lean
        if self.lambda_symmetry:
            symmetry = bone_symmetry_loss(pred)
            total = total + self.lambda_symmetry * symmetry
        if self.lambda_constancy:
            constancy = bone_constancy_loss(pred)
            total = total + self.lambda_constancy * constancy
        if self.lambda_direction:
            direction = bone_direction_loss(pred, target, self.direction_bones)
            total = total + self.lambda_direction * direction
        if self.lambda_length:
            length = bone_length_loss(pred, target)
            total = total + self.lambda_length * length
        if self.lambda_spatial:
            spatial = spatial_depth_order_loss(pred, target, weights=weights, **self.spatial_options)
            total = total + self.lambda_spatial * spatial
        if self.lambda_temporal:
            temporal = temporal_depth_order_loss(pred, target, weights=weights, **self.temporal_options)
            total = total + self.lambda_temporal * temporal
        parts = {"mpjpe": absolute.detach(), "spatial": spatial.detach(), "temporal": temporal.detach(),
                 "up": up_term.detach(), "symmetry": symmetry.detach(), "constancy": constancy.detach(), "lean": lean.detach(),
                 "direction": direction.detach(), "length": length.detach()}
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
