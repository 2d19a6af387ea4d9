"""RePOSE losses: every variant against a brute-force double-loop reference, plus the
properties the method relies on (zero when ordered, gradients that fix the order, invariance
to a depth offset, weights, ties, chunking)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from repose_core import losses, metrics
from repose_core.skeleton import JOINT_INDEX, NEIGHBOUR_PAIRS, NUM_JOINTS

DTYPE = torch.float64


def random_poses(batch=2, frames=5, seed=0, depth_grid=None):
    """(pred, target) with depth spread like a body (tens of cm). ``depth_grid`` rounds the
    target depths to that step so that exact ties occur."""
    g = torch.Generator().manual_seed(seed)
    target = 0.3 * torch.randn(batch, frames, NUM_JOINTS, 3, generator=g, dtype=DTYPE)
    if depth_grid is not None:
        target[..., 2] = torch.round(target[..., 2] / depth_grid) * depth_grid
    pred = target + 0.15 * torch.randn(batch, frames, NUM_JOINTS, 3, generator=g, dtype=DTYPE)
    weights = torch.rand(batch, frames, NUM_JOINTS, generator=g, dtype=DTYPE) * 2
    return pred.requires_grad_(True), target, weights


# ----------------------------------------------------------------------------- reference
def reference_pair(pred_gap, target_gap, weight, variant, margin, temperature, tie_threshold, ties):
    """One pair, written out from the definitions: (weighted penalty, does it count)."""
    if abs(float(target_gap)) > tie_threshold:
        sign = 1.0 if target_gap > 0 else -1.0
        agreement = sign * pred_gap
        if variant == "hinge":
            penalty = torch.clamp(-agreement, min=0.0)
        elif variant == "hinge_margin":
            penalty = torch.clamp(margin - agreement, min=0.0)
        else:
            x = -agreement / temperature
            penalty = temperature * (torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-torch.abs(x))))
        return penalty * weight, True
    if ties == "pull":
        return torch.clamp(torch.abs(pred_gap) - tie_threshold, min=0.0) * weight, True
    return torch.zeros((), dtype=DTYPE), False


def reference_mean(terms):
    total = torch.zeros((), dtype=DTYPE)
    count = 0
    for penalty, counts in terms:
        total = total + penalty
        count += counts
    return total / max(count, 1)


def reference_spatial(pred, target, weights, pairs, **spec):
    pair_list = list(itertools.combinations(range(NUM_JOINTS), 2)) if pairs == "all" else NEIGHBOUR_PAIRS
    terms = []
    for b in range(pred.shape[0]):
        for t in range(pred.shape[1]):
            for i, j in pair_list:
                w = 1.0 if weights is None else 0.5 * (weights[b, t, i] + weights[b, t, j])
                terms.append(reference_pair(pred[b, t, i, 2] - pred[b, t, j, 2],
                                            target[b, t, i, 2] - target[b, t, j, 2], w, **spec))
    return reference_mean(terms)


def reference_temporal(pred, target, weights, mode, stride, **spec):
    frames = pred.shape[1]
    if mode == "adjacent":
        frame_pairs = [(t, t + stride) for t in range(frames - stride)]
    else:
        frame_pairs = list(itertools.combinations(range(frames), 2))
    terms = []
    for b in range(pred.shape[0]):
        for k in range(NUM_JOINTS):
            for t, u in frame_pairs:
                w = 1.0 if weights is None else 0.5 * (weights[b, t, k] + weights[b, u, k])
                terms.append(reference_pair(pred[b, u, k, 2] - pred[b, t, k, 2],
                                            target[b, u, k, 2] - target[b, t, k, 2], w, **spec))
    return reference_mean(terms)


SPEC_CASES = [
    dict(variant=v, ties=ties, tie_threshold=thr, margin=0.05, temperature=0.03)
    for v in losses.VARIANTS
    for ties in losses.TIE_MODES
    for thr in (0.0, 0.15)
]


def spec_id(spec):
    return f"{spec['variant']}-{spec['ties']}-tie{spec['tie_threshold']}"


def assert_matches_reference(loss, reference, pred):
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, reference, rtol=1e-10, atol=1e-12)
    (grad,) = torch.autograd.grad(loss, pred)
    (grad_ref,) = torch.autograd.grad(reference, pred)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spec", SPEC_CASES, ids=spec_id)
@pytest.mark.parametrize("pairs", losses.PAIR_SETS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_spatial_matches_brute_force(spec, pairs, weighted):
    pred, target, weights = random_poses(batch=2, frames=3, depth_grid=0.1)
    weights = weights if weighted else None
    loss = losses.spatial_depth_order_loss(pred, target, pairs=pairs, weights=weights, **spec)
    assert_matches_reference(loss, reference_spatial(pred, target, weights, pairs, **spec), pred)


@pytest.mark.parametrize("spec", SPEC_CASES, ids=spec_id)
@pytest.mark.parametrize("mode,stride,chunk", [("adjacent", 1, None), ("adjacent", 2, None),
                                               ("window", 1, None), ("window", 1, 2)])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_temporal_matches_brute_force(spec, mode, stride, chunk, weighted):
    pred, target, weights = random_poses(batch=2, frames=6, depth_grid=0.1)
    weights = weights if weighted else None
    loss = losses.temporal_depth_order_loss(pred, target, mode=mode, stride=stride, chunk=chunk,
                                            weights=weights, **spec)
    reference = reference_temporal(pred, target, weights, mode, stride, **spec)
    assert_matches_reference(loss, reference, pred)


def test_hinge_is_the_official_loss_renormalised():
    """The official code averages max(0, z_i - z_j) over all K*K (T*T) index pairs where the
    ground truth has z_i < z_j; ours divides the same sum by the ordered pairs only."""
    pred, target, _ = random_poses(batch=3, frames=7)
    batch, frames = pred.shape[:2]
    z, gt = pred[..., 2], target[..., 2]

    def official(depth, depth_gt):  # (..., N): all ordered index pairs of the last axis
        gap = depth[..., :, None] - depth[..., None, :]
        nearer = depth_gt[..., :, None] < depth_gt[..., None, :]
        return (torch.clamp(gap, min=0.0) * nearer).mean()

    ordered_spatial = batch * frames * NUM_JOINTS * (NUM_JOINTS - 1) / 2  # continuous data: no ties
    ours = losses.spatial_depth_order_loss(pred, target)
    torch.testing.assert_close(ours * ordered_spatial / (batch * frames * NUM_JOINTS**2), official(z, gt))

    ordered_temporal = batch * NUM_JOINTS * frames * (frames - 1) / 2
    ours = losses.temporal_depth_order_loss(pred, target, mode="window")
    official_temporal = official(z.transpose(1, 2), gt.transpose(1, 2))
    torch.testing.assert_close(ours * ordered_temporal / (batch * NUM_JOINTS * frames**2), official_temporal)


# ----------------------------------------------------------------------------- properties
def all_relational_losses(**kwargs):
    """(name, callable(pred, target, **extra)) for each pair family and temporal mode."""
    return [
        ("spatial-all", lambda p, t, **e: losses.spatial_depth_order_loss(p, t, pairs="all", **kwargs, **e)),
        ("spatial-neighbours", lambda p, t, **e: losses.spatial_depth_order_loss(p, t, pairs="neighbours", **kwargs, **e)),
        ("temporal-adjacent", lambda p, t, **e: losses.temporal_depth_order_loss(p, t, mode="adjacent", **kwargs, **e)),
        ("temporal-window", lambda p, t, **e: losses.temporal_depth_order_loss(p, t, mode="window", **kwargs, **e)),
    ]


@pytest.mark.parametrize("variant", ["hinge", "hinge_margin"])
def test_zero_when_predicted_order_matches(variant):
    _, target, _ = random_poses(frames=8, seed=1)
    # Same order with every gap stretched, plus a depth offset: nothing to penalise. The
    # tie threshold equals the margin, so each counted pair's gap exceeds the margin.
    stretched = target.clone()
    stretched[..., 2] = 1.5 * target[..., 2] + 2.0
    # Pulled ties stay penalty-free only while their gap stays within the threshold.
    shifted = target.clone()
    shifted[..., 2] = target[..., 2] + 2.0
    for name, loss_fn in all_relational_losses(variant=variant, margin=0.02, tie_threshold=0.02):
        assert loss_fn(stretched, target, ties="ignore").item() == 0.0, name
        assert loss_fn(shifted, target, ties="pull").item() == 0.0, name
        assert loss_fn(stretched, target, ties="pull").item() > 0.0, name


def test_logistic_falls_as_the_correct_order_strengthens():
    _, target, _ = random_poses(frames=8, seed=1)
    for name, loss_fn in all_relational_losses(variant="logistic", temperature=0.02):
        values = []
        for stretch in (-1.0, 0.5, 1.0, 3.0):
            pred = target.clone()
            pred[..., 2] = stretch * target[..., 2]
            values.append(loss_fn(pred, target).item())
        assert values == sorted(values, reverse=True) and values[-1] < 0.1 * values[0], (name, values)


@pytest.mark.parametrize("variant", losses.VARIANTS)
def test_flipped_order_is_penalised_and_gradient_descent_restores_it(variant):
    _, target, _ = random_poses(frames=8, seed=2)
    flipped = target.clone()
    flipped[..., 2] = -target[..., 2]  # every depth order reversed
    for name, loss_fn in all_relational_losses(variant=variant, margin=0.02, temperature=0.02):
        pred = flipped.clone().requires_grad_(True)
        # The losses are means over thousands of pairs; scale the step so that a joint with
        # every pair wrong moves a few centimetres per step.
        optimiser = torch.optim.SGD([pred], lr=0.02 * pred[..., 2].numel())
        first = None
        for _ in range(30):
            optimiser.zero_grad()
            loss = loss_fn(pred, target)
            first = loss.item() if first is None else first
            loss.backward()
            optimiser.step()
        assert first > 0
        assert loss.item() < 0.5 * first, (name, first, loss.item())
        if name.startswith("spatial"):
            before = metrics.depth_order_accuracy(flipped.numpy(), target.numpy(), threshold=0.0)
            after = metrics.depth_order_accuracy(pred.detach().numpy(), target.numpy(), threshold=0.0)
            assert before < 0.05 and after > 0.5, (name, before, after)


def test_gradient_pushes_a_wrong_pair_apart_in_the_right_direction():
    target = torch.zeros(1, 2, NUM_JOINTS, 3, dtype=DTYPE)
    target[..., 2] = torch.arange(NUM_JOINTS, dtype=DTYPE) * 0.1  # joint k at depth 0.1 k
    target[:, 1, :, 2] += 0.05                                    # everyone moves back a little
    pred = target.clone()
    pred[:, :, 3, 2], pred[:, :, 4, 2] = target[:, :, 4, 2], target[:, :, 3, 2]  # swap joints 3 and 4
    pred.requires_grad_(True)
    for variant in losses.VARIANTS:
        (grad,) = torch.autograd.grad(losses.spatial_depth_order_loss(pred, target, variant=variant), pred)
        # Descent moves joint 3 (predicted too far) nearer and joint 4 further away.
        assert (grad[..., 3, 2] > 0).all() and (grad[..., 4, 2] < 0).all(), variant
    pred_t = target.clone()
    pred_t[:, 1, 5, 2] = target[:, 0, 5, 2] - 0.05  # joint 5 predicted to come nearer, not recede
    pred_t.requires_grad_(True)
    (grad,) = torch.autograd.grad(losses.temporal_depth_order_loss(pred_t, target), pred_t)
    assert grad[0, 0, 5, 2] > 0 and grad[0, 1, 5, 2] < 0


def test_invariant_to_a_constant_depth_offset():
    pred, target, weights = random_poses(frames=6, seed=3)
    for variant in losses.VARIANTS:
        for name, loss_fn in all_relational_losses(variant=variant):
            shifted = pred.detach().clone()
            shifted[..., 2] += 1.7
            torch.testing.assert_close(loss_fn(shifted, target, weights=weights),
                                       loss_fn(pred, target, weights=weights), msg=name)
            target_shifted = target.clone()
            target_shifted[..., 2] -= 0.4
            torch.testing.assert_close(loss_fn(pred, target_shifted), loss_fn(pred, target), msg=name)
    # The spatial term compares joints within a frame: a per-frame offset changes nothing either.
    per_frame = pred.detach().clone()
    per_frame[..., 2] += torch.linspace(-1, 1, pred.shape[1], dtype=DTYPE)[None, :, None]
    torch.testing.assert_close(losses.spatial_depth_order_loss(per_frame, target),
                               losses.spatial_depth_order_loss(pred, target))


def test_weights_scale_the_penalty_and_occluded_joints_still_learn_their_order():
    pred, target, _ = random_poses(frames=6, seed=4)
    ones = torch.ones(pred.shape[:-1], dtype=DTYPE)
    for name, loss_fn in all_relational_losses():
        plain = loss_fn(pred, target)
        torch.testing.assert_close(loss_fn(pred, target, weights=ones), plain, msg=name)
        torch.testing.assert_close(loss_fn(pred, target, weights=3 * ones), 3 * plain, msg=name)
        assert loss_fn(pred, target, weights=0 * ones).item() == 0.0, name
        # Weight 0 on the left wrist (say it is occluded): a pair weighs the mean of its two
        # ends, so pairs with visible joints (spatial) or visible frames (temporal) keep half
        # weight and the occluded wrist still gets a gradient on its depth.
        occluded = ones.clone()
        if name.startswith("spatial"):
            occluded[..., 13] = 0.0  # in every frame
        else:
            occluded[:, ::2, 13] = 0.0  # in every other frame
        wrong_wrist = pred.detach().clone()
        wrong_wrist[..., 13, 2] = 0.5 - target[..., 13, 2]  # its depth order reversed
        wrong_wrist.requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(wrong_wrist, target, weights=occluded), wrong_wrist)
        (grad_plain,) = torch.autograd.grad(loss_fn(wrong_wrist, target), wrong_wrist)
        if name != "temporal-window":  # (there, frames of equal parity pair up too)
            # Every pair of the wrist has one end of weight 0, one of weight 1: half the signal.
            torch.testing.assert_close(grad[..., 13, 2], 0.5 * grad_plain[..., 13, 2], msg=name)
        assert grad[..., 13, 2].abs().sum() > 0, name
    # Broadcastable per-joint weights are accepted; a wrong shape is a clear error.
    per_joint = torch.linspace(0.5, 1.5, NUM_JOINTS, dtype=DTYPE)
    torch.testing.assert_close(losses.spatial_depth_order_loss(pred, target, weights=per_joint),
                               losses.spatial_depth_order_loss(pred, target, weights=per_joint.expand(pred.shape[:-1])))
    with pytest.raises(ValueError, match="weights of shape"):
        losses.spatial_depth_order_loss(pred, target, weights=torch.ones(5))


def test_tie_threshold_ignores_or_pulls_near_equal_depths():
    target = torch.zeros(1, 1, NUM_JOINTS, 3, dtype=DTYPE)
    target[..., 2] = torch.arange(NUM_JOINTS, dtype=DTYPE) * 0.2
    target[0, 0, 2, 2] = target[0, 0, 1, 2] + 0.05  # joints 1, 2 within 5 cm of each other
    pred = target.clone()
    pred[0, 0, 2, 2] = target[0, 0, 1, 2] - 0.12     # predicted 12 cm the wrong way round
    pred.requires_grad_(True)
    assert losses.spatial_depth_order_loss(pred, target, tie_threshold=0.0).item() > 0
    assert losses.spatial_depth_order_loss(pred, target, tie_threshold=0.1, ties="ignore").item() == 0.0
    pulled = losses.spatial_depth_order_loss(pred, target, tie_threshold=0.1, ties="pull")
    pairs = NUM_JOINTS * (NUM_JOINTS - 1) / 2
    torch.testing.assert_close(pulled, torch.tensor((0.12 - 0.1) / pairs, dtype=DTYPE))
    (grad,) = torch.autograd.grad(pulled, pred)
    assert grad[0, 0, 2, 2] < 0 and grad[0, 0, 1, 2] > 0  # descent pulls the two together


@pytest.mark.parametrize("variant", losses.VARIANTS)
@pytest.mark.parametrize("ties", losses.TIE_MODES)
def test_nan_free_when_every_depth_is_tied(variant, ties):
    target = torch.zeros(2, 4, NUM_JOINTS, 3, dtype=DTYPE)  # one depth for every joint and frame
    pred, _, _ = random_poses(batch=2, frames=4, seed=5)
    for name, loss_fn in all_relational_losses(variant=variant, ties=ties):
        loss = loss_fn(pred, target)
        (grad,) = torch.autograd.grad(loss, pred)
        assert torch.isfinite(loss) and torch.isfinite(grad).all(), name
        if ties == "ignore":
            assert loss.item() == 0.0 and grad.abs().sum() == 0, name
        else:
            assert loss.item() > 0, name


def test_single_frame_and_short_clips():
    pred, target, weights = random_poses(batch=3, frames=1, seed=6)
    for mode in losses.TEMPORAL_MODES:
        loss = losses.temporal_depth_order_loss(pred, target, mode=mode, weights=weights)
        (grad,) = torch.autograd.grad(loss, pred)
        assert loss.item() == 0.0 and torch.isfinite(grad).all() and grad.abs().sum() == 0
    assert losses.spatial_depth_order_loss(pred, target).item() > 0
    assert losses.velocity_loss(pred, target).item() == 0.0
    pred4, target4, _ = random_poses(frames=4, seed=6)
    assert losses.temporal_depth_order_loss(pred4, target4, stride=4).item() == 0.0  # no pair that far apart
    total, parts = losses.RePoseLoss(1.0, 1.0)(pred, target)
    assert torch.isfinite(total) and parts["temporal"].item() == 0.0


def test_window_chunks_match_the_dense_computation(monkeypatch):
    pred, target, weights = random_poses(batch=2, frames=11, seed=7)
    for spec in SPEC_CASES:
        dense = losses.temporal_depth_order_loss(pred, target, mode="window", weights=weights, **spec)
        (grad_dense,) = torch.autograd.grad(dense, pred)
        for chunk in (1, 3, 10):
            chunked = losses.temporal_depth_order_loss(pred, target, mode="window", weights=weights,
                                                       chunk=chunk, **spec)
            (grad_chunked,) = torch.autograd.grad(chunked, pred)
            torch.testing.assert_close(chunked, dense, msg=f"{spec} chunk={chunk}")
            torch.testing.assert_close(grad_chunked, grad_dense, msg=f"{spec} chunk={chunk}")
    # With chunk=None the block size follows the memory budget: a budget of one frame row per
    # block (B*K*T elements) must still give the dense result.
    monkeypatch.setitem(losses.WINDOW_BLOCK_ELEMENTS, "cpu", 2 * NUM_JOINTS * 11)
    budgeted = losses.temporal_depth_order_loss(pred, target, mode="window")
    monkeypatch.undo()
    torch.testing.assert_close(budgeted, losses.temporal_depth_order_loss(pred, target, mode="window"))


# ----------------------------------------------------------------------------- absolute terms
def test_mpjpe_weighted_mpjpe_and_velocity_by_hand():
    target = torch.zeros(2, 3, NUM_JOINTS, 3, dtype=DTYPE)
    pred = target + torch.tensor([0.03, 0.04, 0.0], dtype=DTYPE)  # 5 cm off everywhere
    torch.testing.assert_close(losses.mpjpe(pred, target), torch.tensor(0.05, dtype=DTYPE))
    weights = torch.zeros(2, 3, NUM_JOINTS, dtype=DTYPE)
    weights[..., 0] = 1.0
    torch.testing.assert_close(losses.weighted_mpjpe(pred, target, weights),
                               torch.tensor(0.05 / NUM_JOINTS, dtype=DTYPE))
    assert losses.velocity_loss(pred, target).item() == 0.0  # a constant offset does not move
    drift = target.clone()
    drift[:, :, :, 0] = torch.arange(3, dtype=DTYPE)[None, :, None] * 0.01  # 1 cm per frame in x
    torch.testing.assert_close(losses.velocity_loss(drift, target), torch.tensor(0.01, dtype=DTYPE))


def test_repose_loss_combines_root_centred_parts():
    pred, target, weights = random_poses(frames=6, seed=8)
    loss_fn = losses.RePoseLoss(lambda_spatial=0.5, lambda_temporal=2.0, spatial_variant="logistic",
                                temporal_mode="window", pairs="neighbours")
    total, parts = loss_fn(pred, target)
    assert set(parts) == {"mpjpe", "spatial", "temporal", "up", "symmetry", "constancy", "lean", "direction", "length"}
    assert not any(p.requires_grad for p in parts.values())
    centred_pred = pred - pred[:, :, :1]
    centred_target = target - target[:, :, :1]
    expected_parts = {
        "mpjpe": losses.mpjpe(centred_pred, centred_target),
        "spatial": losses.spatial_depth_order_loss(centred_pred, centred_target, variant="logistic",
                                                   pairs="neighbours"),
        "temporal": losses.temporal_depth_order_loss(centred_pred, centred_target, mode="window"),
    }
    for key, value in expected_parts.items():
        torch.testing.assert_close(parts[key], value.detach(), msg=key)
    torch.testing.assert_close(total, expected_parts["mpjpe"] + 0.5 * expected_parts["spatial"]
                               + 2.0 * expected_parts["temporal"])
    # The model's pelvis output does not matter: poses are compared root-centred.
    moved = pred.detach().clone()
    moved += torch.randn(moved.shape[0], moved.shape[1], 1, 3, dtype=DTYPE)
    torch.testing.assert_close(loss_fn(moved, target)[0], total.detach())
    # Weights reach the absolute term too.
    total_w, parts_w = loss_fn(pred, target, weights=weights)
    torch.testing.assert_close(parts_w["mpjpe"], losses.weighted_mpjpe(centred_pred, centred_target, weights).detach())
    # lambda = 0 skips a term.
    total_abs, parts_abs = losses.RePoseLoss(0.0, 0.0)(pred, target)
    torch.testing.assert_close(total_abs, expected_parts["mpjpe"])
    assert parts_abs["spatial"].item() == 0.0 and parts_abs["temporal"].item() == 0.0


def test_up_direction_term():
    """1 - cos of the angle: 0 when aligned, 1 at 90 degrees, 2 opposite; lambda_up weighs it
    into the total, and without up directions (or with lambda_up 0) it is 0."""
    pred, target, _ = random_poses(frames=4, seed=3)
    true_up = torch.zeros(pred.shape[0], 4, 3, dtype=DTYPE)
    true_up[..., 1] = -1.0
    sideways = torch.zeros_like(true_up)
    sideways[..., 0] = 1.0
    assert losses.up_direction_loss(true_up, true_up).item() == pytest.approx(0.0)
    assert losses.up_direction_loss(sideways, true_up).item() == pytest.approx(1.0)
    assert losses.up_direction_loss(-true_up, true_up).item() == pytest.approx(2.0)
    base, _ = losses.RePoseLoss(0.0, 0.0, lambda_up=0.5)(pred, target)
    total, parts = losses.RePoseLoss(0.0, 0.0, lambda_up=0.5)(pred, target, up=(sideways, true_up))
    assert parts["up"].item() == pytest.approx(1.0)
    torch.testing.assert_close(total, base + 0.5)
    assert losses.RePoseLoss(0.0, 0.0)(pred, target, up=(sideways, true_up))[1]["up"].item() == 0.0


def test_bone_symmetry_term_on_real_motion(cmu_dance_camera):
    """A mocap body's left and right bones match (within 5 %); a left forearm a fifth too long
    costs about 0.2 / 1.1 over the six bone pairs, descent on the term shortens it, and the
    term is the same for the body at any size (shrinking is no way out)."""
    pose = torch.from_numpy(cmu_dance_camera - cmu_dance_camera[:, :1])[None]   # (1, T, 17, 3)
    elbow, wrist = JOINT_INDEX["l_elbow"], JOINT_INDEX["l_wrist"]
    mismatch = losses.bone_symmetry_loss(pose).item()
    assert mismatch < 0.05
    forearm = pose[..., wrist, :] - pose[..., elbow, :]
    longer = pose.clone()
    longer[..., wrist, :] += 0.2 * forearm
    longer.requires_grad_(True)
    loss = losses.bone_symmetry_loss(longer)
    assert loss.item() == pytest.approx(0.2 / 1.1 / 6, abs=mismatch)
    loss.backward()
    assert ((longer.grad[..., wrist, :] * forearm).sum(-1) > 0).all()   # descent moves the wrist in
    torch.testing.assert_close(losses.bone_symmetry_loss(0.5 * longer.detach()), loss.detach())
    total, parts = losses.RePoseLoss(0.0, 0.0, lambda_symmetry=2.0)(longer.detach(), pose)
    torch.testing.assert_close(total, losses.mpjpe(longer.detach(), pose) + 2.0 * parts["symmetry"])
    assert losses.RePoseLoss(0.0, 0.0)(longer.detach(), pose)[1]["symmetry"].item() == 0.0


def test_bone_constancy_term_on_real_motion(cmu_dance_camera):
    """A mocap body's bones keep their length over a dance (within 2 %); a left forearm a fifth
    short in half the frames is 0.1 / 0.9 off its window mean in every frame, 1/16 of that over
    the 16 bones; descent on the term lengthens it where short and shortens it where long; the
    term is the same for the body at any size."""
    pose = torch.from_numpy(cmu_dance_camera - cmu_dance_camera[:, :1])[None]   # (1, T, 17, 3)
    elbow, wrist = JOINT_INDEX["l_elbow"], JOINT_INDEX["l_wrist"]
    drift = losses.bone_constancy_loss(pose).item()
    assert drift < 0.02
    forearm = pose[..., wrist, :] - pose[..., elbow, :]
    half = pose.shape[1] // 2
    shorter = pose.clone()
    shorter[:, :half, wrist] -= 0.2 * forearm[:, :half]
    shorter.requires_grad_(True)
    loss = losses.bone_constancy_loss(shorter)
    assert loss.item() == pytest.approx(0.1 / 0.9 / 16, abs=drift)
    loss.backward()
    outward = (shorter.grad[..., wrist, :] * forearm).sum(-1)[0]
    assert (outward[:half] < 0).all() and (outward[half:] > 0).all()   # descent: short out, long in
    torch.testing.assert_close(losses.bone_constancy_loss(2.0 * shorter.detach()), loss.detach())
    assert losses.bone_constancy_loss(pose[:, :1]).item() == 0.0
    total, parts = losses.RePoseLoss(0.0, 0.0, lambda_constancy=3.0)(shorter.detach(), pose)
    torch.testing.assert_close(total, losses.mpjpe(shorter.detach(), pose) + 3.0 * parts["constancy"])
    assert losses.RePoseLoss(0.0, 0.0)(shorter.detach(), pose)[1]["constancy"].item() == 0.0


def test_bone_direction_term_on_real_motion(cmu_dance_camera):
    """0 for the truth and blind to bone lengths (a bigger body costs nothing); a forearm turned
    by 30 degrees costs 1 - cos(30 deg) on its bone alone, whatever its length; descent turns it
    back; lambda_direction weighs it in, over the bones direction_bones names."""
    from repose_core.rotations import axis_angle_matrix
    from repose_core.skeleton import DIRECTION_BONES

    pose = torch.from_numpy(cmu_dance_camera - cmu_dance_camera[:, :1])[None]   # (1, T, 17, 3)
    assert losses.bone_direction_loss(pose, pose).item() == pytest.approx(0.0, abs=1e-12)
    assert losses.bone_direction_loss(1.3 * pose, pose).item() == pytest.approx(0.0, abs=1e-12)
    elbow, wrist = JOINT_INDEX["l_elbow"], JOINT_INDEX["l_wrist"]
    forearm = (pose[0, :, wrist] - pose[0, :, elbow]).numpy()
    axes = np.cross(forearm, np.array([0.0, 0.0, 1.0]))
    turns = np.stack([axis_angle_matrix(a / np.linalg.norm(a), np.radians(30.0)) for a in axes])
    turned = pose.clone()
    turned[0, :, wrist] = pose[0, :, elbow] + torch.from_numpy(np.einsum("tij,tj->ti", turns, forearm))
    turned.requires_grad_(True)
    loss = losses.bone_direction_loss(turned, pose)
    assert loss.item() == pytest.approx((1.0 - np.cos(np.radians(30.0))) / len(DIRECTION_BONES), rel=1e-6)
    loss.backward()
    stepped = turned.detach() - 0.05 * turned.grad / turned.grad.norm()
    assert losses.bone_direction_loss(stepped, pose).item() < loss.item()
    total, parts = losses.RePoseLoss(0.0, 0.0, lambda_direction=2.0)(turned.detach(), pose)
    torch.testing.assert_close(total, losses.mpjpe(turned.detach(), pose) + 2.0 * parts["direction"])
    assert losses.RePoseLoss(0.0, 0.0)(turned.detach(), pose)[1]["direction"].item() == 0.0
    # direction_bones: the term over some bones only; the turned forearm left out costs nothing.
    others = [name for name in DIRECTION_BONES if name != "l_forearm"]
    assert losses.bone_direction_loss(turned.detach(), pose, others).item() == pytest.approx(0.0, abs=1e-12)
    assert losses.bone_direction_loss(turned.detach(), pose, ["l_forearm"]).item() == pytest.approx(
        1.0 - np.cos(np.radians(30.0)), rel=1e-6)
    chosen = losses.RePoseLoss(0.0, 0.0, lambda_direction=1.0, direction_bones=["l_forearm", "torso"])
    assert chosen(turned.detach(), pose)[1]["direction"].item() == pytest.approx((1.0 - np.cos(np.radians(30.0))) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="direction bones must be some of"):
        losses.RePoseLoss(direction_bones=["l_hand"])


def test_bone_length_term_on_real_motion(cmu_dance_camera):
    """0 for the truth; a body 30 % too big costs 0.3, as does one 30 % too small (relative, so
    no size is a way out); a forearm 30 % short costs 0.3 / 16 on its own; descent lengthens it;
    lambda_length weighs it in."""
    pose = torch.from_numpy(cmu_dance_camera - cmu_dance_camera[:, :1])[None]   # (1, T, 17, 3)
    assert losses.bone_length_loss(pose, pose).item() == pytest.approx(0.0, abs=1e-12)
    assert losses.bone_length_loss(1.3 * pose, pose).item() == pytest.approx(0.3, rel=1e-9)
    assert losses.bone_length_loss(0.7 * pose, pose).item() == pytest.approx(0.3, rel=1e-9)
    elbow, wrist = JOINT_INDEX["r_elbow"], JOINT_INDEX["r_wrist"]
    short = pose.clone()
    short[..., wrist, :] = pose[..., elbow, :] + 0.7 * (pose[..., wrist, :] - pose[..., elbow, :])
    short.requires_grad_(True)
    loss = losses.bone_length_loss(short, pose)
    assert loss.item() == pytest.approx(0.3 / 16, rel=1e-9)
    loss.backward()
    outward = (short.grad[..., wrist, :] * (pose[..., wrist, :] - pose[..., elbow, :])).sum(-1)
    assert (outward < 0).all()          # descent moves the wrist out along the forearm
    total, parts = losses.RePoseLoss(0.0, 0.0, lambda_length=2.0)(short.detach(), pose)
    torch.testing.assert_close(total, losses.mpjpe(short.detach(), pose) + 2.0 * parts["length"])


def test_levelled_lean_term_on_real_motion(cmu_dance_camera):
    """The import's lean as a loss. 0 for the truth, and 0 when a camera's tilt is mistaken in
    the pose and the up direction alike (levelling takes it away); the pose alone tilted by 10
    degrees across its axes costs about 1 - cos(10 deg); descent on it turns pose and up toward
    each other; lambda_lean weighs it in, and it needs up directions."""
    from repose_core.rotations import axis_angle_matrix

    pose = torch.from_numpy(cmu_dance_camera - cmu_dance_camera[:, :1])[None]   # (1, T, 17, 3)
    up = torch.zeros(1, pose.shape[1], 3, dtype=DTYPE)
    up[..., 1] = -1.0                                   # a level camera: up is -y
    tilt = torch.from_numpy(axis_angle_matrix(np.array([1.0, 0.0, 0.0]), np.radians(np.asarray(10.0))))
    assert losses.levelled_lean_loss(pose, pose, up, up).item() == pytest.approx(0.0, abs=1e-12)
    assert losses.levelled_lean_loss(pose @ tilt.T, pose, up @ tilt.T, up).item() == pytest.approx(0.0, abs=1e-12)
    leaning = (pose @ tilt.T).requires_grad_(True)
    guessed_up = up.clone().requires_grad_(True)
    loss = losses.levelled_lean_loss(leaning, pose, guessed_up, up)
    assert loss.item() == pytest.approx(1.0 - np.cos(np.radians(10.0)), rel=0.2)
    loss.backward()
    step = 0.5
    after = losses.levelled_lean_loss(leaning.detach() - step * leaning.grad / leaning.grad.norm(),
                                      pose, guessed_up.detach() - step * guessed_up.grad / guessed_up.grad.norm(), up)
    assert after.item() < loss.item()
    assert guessed_up.grad.abs().sum() > 0            # the up direction learns from it too
    total, parts = losses.RePoseLoss(0.0, 0.0, lambda_lean=2.0)(leaning.detach(), pose, up=(up, up))
    torch.testing.assert_close(total, losses.mpjpe(leaning.detach(), pose) + 2.0 * parts["lean"])
    assert losses.RePoseLoss(0.0, 0.0, lambda_lean=2.0)(leaning.detach(), pose)[1]["lean"].item() == 0.0


def test_bad_arguments_name_the_problem():
    pred, target, _ = random_poses()
    with pytest.raises(ValueError, match="variant"):
        losses.spatial_depth_order_loss(pred, target, variant="square")
    with pytest.raises(ValueError, match="ties"):
        losses.spatial_depth_order_loss(pred, target, ties="keep")
    with pytest.raises(ValueError, match="pairs"):
        losses.spatial_depth_order_loss(pred, target, pairs="bones")
    with pytest.raises(ValueError, match="mode"):
        losses.temporal_depth_order_loss(pred, target, mode="global")
    with pytest.raises(ValueError, match="stride"):
        losses.temporal_depth_order_loss(pred, target, stride=0)
    with pytest.raises(ValueError, match="stride applies"):
        losses.temporal_depth_order_loss(pred, target, mode="window", stride=2)
    with pytest.raises(ValueError, match="chunk"):
        losses.temporal_depth_order_loss(pred, target, mode="window", chunk=0)
    with pytest.raises(ValueError, match="temperature"):
        losses.spatial_depth_order_loss(pred, target, variant="logistic", temperature=0.0)
    with pytest.raises(ValueError, match=r"\(B, T, 17, 3\)"):
        losses.spatial_depth_order_loss(pred[0], target[0])
    with pytest.raises(ValueError, match="same shape"):
        losses.mpjpe(pred, target[:, :2])
    with pytest.raises(ValueError, match="temporal_mode"):
        losses.RePoseLoss(temporal_mode="all")
    with pytest.raises(ValueError, match="lambda"):
        losses.RePoseLoss(lambda_spatial=-1.0)


# ----------------------------------------------------------------------------- real motion
def test_on_real_motion_the_terms_score_order_not_magnitude(cmu_dance_camera):
    """The depth ambiguity the paper targets: a forearm reflected front-to-back about the elbow
    projects to nearly the same 2D. The relational terms flag it; a prediction with every depth
    stretched (larger MPJPE, the same order) they leave alone."""
    target = torch.from_numpy(cmu_dance_camera - cmu_dance_camera[:, :1])[None]  # (1, T, 17, 3)
    flipped_forearm = target.clone()
    flipped_forearm[..., 13, 2] = 2 * target[..., 12, 2] - target[..., 13, 2]
    stretched = target.clone()
    stretched[..., 2] *= 1.5  # pelvis-relative depths: order kept, gaps grown
    loss_fn = losses.RePoseLoss(lambda_spatial=1.0, lambda_temporal=1.0)
    _, truth = loss_fn(target, target)
    _, flip = loss_fn(flipped_forearm, target)
    _, stretch = loss_fn(stretched, target)
    assert truth["spatial"] == 0 and truth["temporal"] == 0 and truth["mpjpe"] == 0
    assert stretch["mpjpe"] > flip["mpjpe"] > 0
    assert stretch["spatial"] == 0 and stretch["temporal"] == 0
    assert flip["spatial"] > 0 and flip["temporal"] > 0
    assert metrics.depth_order_accuracy(flipped_forearm[0].numpy(), target[0].numpy()) < 1.0
    assert metrics.depth_order_accuracy(stretched[0].numpy(), target[0].numpy()) == 1.0


def test_float32_agrees_with_float64(cmu_dance_camera):
    target = torch.from_numpy(cmu_dance_camera[:256]).reshape(32, 8, NUM_JOINTS, 3)
    pred = target + 0.05 * torch.randn(target.shape, generator=torch.Generator().manual_seed(9), dtype=DTYPE)
    for name, loss_fn in all_relational_losses(variant="logistic", temperature=0.02, ties="pull", tie_threshold=0.01):
        double = loss_fn(pred, target)
        single = loss_fn(pred.float(), target.float())
        assert single.dtype == torch.float32
        torch.testing.assert_close(single.double(), double, rtol=1e-4, atol=1e-7, msg=name)
