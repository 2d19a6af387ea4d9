"""CLI: ``python -m repose_core.detect VIDEO -o keypoints.npz [--overlay out.mp4]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from . import DetectionCancelled, VideoError, detect_video
from .overlay import write_contact_sheet, write_overlay_video
from .tracking import MAX_PEOPLE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m repose_core.detect",
        description="Detect one person's 2D pose (H36M-17 + MediaPipe landmarks) in a video.")
    parser.add_argument("video", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="keypoints file to write (.npz)")
    parser.add_argument("--overlay", type=Path, help="also write the footage with the skeleton "
                        "drawn (.mp4) and a contact sheet beside it (.png)")
    parser.add_argument("--start", type=int, default=0, help="first frame (default 0)")
    parser.add_argument("--end", type=int, default=None, help="stop before this frame")
    parser.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    parser.add_argument("--person", type=int, default=None,
                        help=f"follow the k-th person from the left, 0 = the leftmost, up to "
                             f"{MAX_PEOPLE - 1} (default: the most prominent)")
    parser.add_argument("--num-poses", type=int, default=1,
                        help="without --person: people MediaPipe looks for once the person is "
                             "chosen (at least everyone then in view; raised automatically)")
    parser.add_argument("--task", type=Path, default=None,
                        help="PoseLandmarker .task bundle (default: the one shipped)")
    parser.add_argument("--hands", action="store_true",
                        help="also find the person's hands (21 landmarks each) in the same pass")
    parser.add_argument("--hand-task", type=Path, default=None,
                        help="with --hands: HandLandmarker .task bundle (default: the one shipped)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="reuse/store results here, keyed by video content and settings")
    args = parser.parse_args(argv)

    with tqdm(unit="frame", desc=args.video.name) as bar:
        def progress(stage: str, done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            det = detect_video(args.video, start=args.start, end=args.end, stride=args.stride,
                               task_path=args.task, cache_dir=args.cache_dir,
                               person=args.person, progress=progress, num_poses=args.num_poses,
                               hands=args.hands, hand_task_path=args.hand_task)
        except (VideoError, ValueError, FileNotFoundError) as error:
            bar.close()
            print(f"error: {error}", file=sys.stderr)
            return 2
        except (DetectionCancelled, KeyboardInterrupt):
            bar.close()
            print("cancelled", file=sys.stderr)
            return 130
    det.save(args.output)
    print(f"{args.output}: {len(det)} frames, person found in {det.detection_rate:.1%} "
          f"({len(det.missing_frames)} missing), image {det.image_size[0]}x{det.image_size[1]}")
    if det.has_hands:
        seen = (det.hand_confidence > 0).mean(0)
        print(f"hands: left found in {seen[0]:.1%} of the frames, right in {seen[1]:.1%}")
    if args.overlay is not None:
        write_overlay_video(det, args.overlay)
        sheet = write_contact_sheet(det, args.overlay.with_suffix(".png"))
        print(f"overlay: {args.overlay}, contact sheet: {sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
