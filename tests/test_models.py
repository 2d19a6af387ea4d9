"""Lifting backbones: registry, receptive fields, the two TCN forms, the transformer, ONNX export."""
from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from repose_core.models import BACKBONES, build_model
from repose_core.models.export import INPUT_NAME, export_onnx, lifter_metadata
from repose_core.runtime import POSE_OUTPUT, LifterLoadError

TINY_TCN = {"backbone": "tcn", "filter_widths": [3, 3, 3], "channels": 32, "dropout": 0.0}
TINY_TRANSFORMER = {"backbone": "transformer", "window": 9, "dim": 32, "depth": 2, "heads": 4, "dropout": 0.0}


def randomise_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Give BatchNorm layers non-trivial running statistics, as a trained model has."""
    generator = torch.Generator().manual_seed(3)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.3)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
    return model


def features(batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, frames, 17, 3, generator=torch.Generator().manual_seed(seed))


def test_registry_builds_every_backbone_and_names_bad_configs():
    assert set(BACKBONES) == {"tcn", "transformer"}
    assert isinstance(build_model(TINY_TCN), BACKBONES["tcn"])
    assert isinstance(build_model(TINY_TRANSFORMER), BACKBONES["transformer"])
    with pytest.raises(ValueError, match="backbone must be one of"):
        build_model({"backbone": "lstm"})
    with pytest.raises(ValueError, match="'tcn'.*channel"):
        build_model({"backbone": "tcn", "channel": 3})


@pytest.mark.parametrize("widths, field", [([3, 3, 3], 27), ([3, 3, 3, 3], 81), ([3, 3, 3, 3, 3], 243)])
def test_tcn_receptive_field_and_sequence_shape(widths, field):
    model = build_model({"backbone": "tcn", "filter_widths": widths, "channels": 16}).eval()
    assert model.receptive_field == field and model.output_mode == "valid"
    with torch.inference_mode():
        out = model(features(2, field + 10))
    assert out.shape == (2, 11, 17, 3)
    assert torch.all(out[:, :, 0] == 0), "pelvis must be at the origin"
    with torch.inference_mode(), pytest.raises(RuntimeError):
        model(features(1, field - 1))  # too short for one output frame


def test_tcn_rejects_even_filter_widths():
    with pytest.raises(ValueError, match="odd"):
        build_model({"backbone": "tcn", "filter_widths": [3, 2]})


@pytest.mark.parametrize("backbone", ["tcn", "transformer"])
def test_up_head_gives_unit_vectors_beside_the_same_pose(backbone):
    """``predict_up`` adds a head on the shared features: the pose is what ``forward`` gives,
    the up direction one unit vector per output frame; a model without the head refuses."""
    torch.manual_seed(0)
    config = TINY_TCN if backbone == "tcn" else TINY_TRANSFORMER
    model = build_model({**config, "predict_up": True}).eval()
    x = features(2, model.receptive_field + 4 if backbone == "tcn" else model.window)
    with torch.inference_mode():
        pose, up = model.forward_with_up(x)
        torch.testing.assert_close(pose, model(x))
    assert up.shape == pose.shape[:2] + (3,)
    torch.testing.assert_close(up.norm(dim=-1), torch.ones(up.shape[:2]))
    assert model.config["predict_up"] is True
    with pytest.raises(ValueError, match="predict_up"):
        build_model(config).forward_with_up(x)


@pytest.mark.parametrize("causal", [False, True])
def test_tcn_output_frame_sees_its_window_only(causal):
    """Output frame t sees inputs t..t+RF-1 of the valid sequence; the causal model's output is
    the window's last frame, the non-causal one's its centre."""
    torch.manual_seed(0)
    model = build_model({**TINY_TCN, "causal": causal}).eval()
    field = model.receptive_field
    x = features(1, 3 * field)
    with torch.inference_mode():
        base = model(x)
        for frame in (0, field, 2 * field):
            bumped = x.clone()
            bumped[:, frame] += 1.0
            changed = (model(bumped) - base).abs().amax(dim=(0, 2, 3)) > 1e-6
            outputs = torch.nonzero(changed).flatten().tolist()
            # Output t covers input frames [t, t + field - 1].
            expected = [t for t in range(base.shape[1]) if t <= frame <= t + field - 1]
            assert outputs == expected
    assert model.causal == causal
    # The input frame output frame 0 belongs to, which the runtime pads for and validation scores.
    assert model.output_offset == (field - 1 if causal else (field - 1) // 2)


def test_tcn_sequence_form_trains():
    """Supervising every frame of a window in one pass: the loss falls and all weights learn."""
    torch.manual_seed(0)
    model = build_model(TINY_TCN).train()
    x = features(4, model.receptive_field + 31)
    target = features(4, 32, seed=1)
    target = target - target[:, :, :1]
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        optimiser.zero_grad()
        loss = (model(x) - target).norm(dim=-1).mean()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_transformer_is_seq2seq_and_mixes_joints_and_frames():
    torch.manual_seed(0)
    model = build_model(TINY_TRANSFORMER).eval()
    assert model.output_mode == "window" and model.receptive_field == model.window == 9
    x = features(2, 9)
    with torch.inference_mode():
        out = model(x)
        assert out.shape == (2, 9, 17, 3)
        assert model(x[:, :4]).shape == (2, 4, 17, 3)
        assert torch.all(out[:, :, 0] == 0)
        bumped = x.clone()
        bumped[:, 0, 13] += 1.0  # left wrist, first frame
        change = (model(bumped) - out).abs()
    # Spatial attention carries it to other joints, temporal attention to other frames.
    assert change[:, 8, 3].max() > 1e-4, "right ankle at the last frame should respond"
    with pytest.raises(ValueError, match="window=9"):
        model(features(1, 10))


def test_backbones_are_deterministic_in_eval_and_stochastic_in_train():
    torch.manual_seed(0)
    model = build_model({**TINY_TCN, "dropout": 0.5})
    x = features(1, 40)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


@pytest.mark.slow  # an ONNX export each (seconds)
@pytest.mark.parametrize(
    "config, frames",
    [(TINY_TCN, [27, 27 + 113]), ({**TINY_TCN, "causal": True}, [30]), (TINY_TRANSFORMER, [9, 5])],
    ids=["tcn", "tcn-causal", "transformer"],
)
def test_onnx_export_agrees_with_torch_on_any_length(tmp_path, config, frames):
    torch.manual_seed(0)
    model = randomise_batchnorm(build_model(config)).eval()
    path = export_onnx(model, None, tmp_path / "lifter.onnx")
    saved = onnx.load(path)
    metadata = json.loads({p.key: p.value for p in saved.metadata_props}["repose"])
    assert metadata == lifter_metadata(model)
    assert metadata["backbone"] == config["backbone"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, length in zip((1, 3), frames):
        x = features(batch, length, seed=length)
        with torch.inference_mode():
            expected = model(x).numpy()
        got = session.run([POSE_OUTPUT], {INPUT_NAME: x.numpy()})[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_export_rejects_metadata_that_does_not_describe_the_model(tmp_path):
    model = build_model(TINY_TCN)
    wrong = {**lifter_metadata(model), "receptive_field": 81}
    with pytest.raises(ValueError, match="receptive_field"):
        export_onnx(model, wrong, tmp_path / "x.onnx")
    with pytest.raises(LifterLoadError, match="joints"):
        export_onnx(model, {**lifter_metadata(model), "joints": ["pelvis"]}, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
