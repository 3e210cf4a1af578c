"""``ldfa anonymize``: write an anonymized copy of a dataset's images (new files only)."""

from __future__ import annotations

from ldfa.cli.output import emit
from ldfa.plugin.anonymization_config import DEFAULT_MODEL, PRESETS
from ldfa.plugin.methods import METHODS


def add_parser(sub):
    p = sub.add_parser("anonymize", help="replace every detected face (new image files)",
                       description="Anonymize the faces of a dataset (run `ldfa detect` first). "
                       "New images mirror the source tree under --output-dir; originals are "
                       "never written. Rerunning the same command resumes.")
    p.add_argument("--dataset", required=True, help="FiftyOne dataset name")
    p.add_argument("--method", choices=METHODS, default="ldfa",
                   help="ldfa (latent diffusion, default), gauss, pixelate or solid")
    p.add_argument("--field", help="string field for the new paths (default: anon_<method>)")
    p.add_argument("--output-dir", help="folder mirroring the source tree (default: <source>-<field>)")
    p.add_argument("--faces-field", default="faces", help="Detections field with the faces")
    p.add_argument("--preset", choices=list(PRESETS), help="paper: the published LDFA procedure")
    p.add_argument("--model", help=f"ldfa: hub id, local folder or .safetensors (default {DEFAULT_MODEL})")
    p.add_argument("--steps", type=int, dest="num_inference_steps", help="ldfa: denoising steps (50)")
    p.add_argument("--strength", type=float, help="ldfa: how far from the original to start (0.75)")
    p.add_argument("--guidance-scale", type=float, help="ldfa: classifier-free guidance (1: none)")
    p.add_argument("--prompt", help="ldfa: text prompt (default: none)")
    p.add_argument("--negative-prompt", help="ldfa: used only with --guidance-scale > 1 (default: none)")
    p.add_argument("--scheduler", help="ldfa: a diffusers scheduler class name (EulerDiscreteScheduler, "
                   "the paper's)")
    p.add_argument("--crop-size", type=int, help="ldfa: model resolution of each face crop (512)")
    p.add_argument("--context-px", type=int, help="ldfa: pixels of surroundings around each face crop (32)")
    p.add_argument("--seed", type=int, help="run seed; per-face seeds derive from it (0)")
    p.add_argument("--min-face-px", type=int,
                   help="faces with a shorter side below this get --fallback (0: none, every face "
                   "gets --method, as the paper does)")
    p.add_argument("--fallback", choices=METHODS,
                   help="method where --method cannot run (a face diffusion runs out of memory on) "
                   "or below --min-face-px (pixelate)")
    p.add_argument("--mask-grow", type=float, help="scale face boxes before masking (1.0)")
    p.add_argument("--mask-blur-px", type=float,
                   help="the new face fades into the original over this many pixels outside its box (4)")
    p.add_argument("--ellipse", action="store_const", const=True, dest="mask_ellipse",
                   help="the ellipse through each box's corners instead of the box")
    p.add_argument("--link-unchanged", action="store_const", const=True,
                   help="hard-link (not copy) images without faces into --output-dir")
    p.add_argument("--jpeg-quality", type=int, help="quality of re-encoded JPEGs (95)")
    p.add_argument("--batch-size", type=int, help="ldfa: face crops per diffusion call (4)")
    p.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    p.add_argument("--dtype", choices=["float16", "float32", "bfloat16"],
                   help="ldfa: default float16 on CUDA, float32 on CPU")
    p.add_argument("--identity-guard", type=int, default=0, metavar="N",
                   help="re-anonymize faces FaceNet still matches to their original, up to N tries; "
                   "faces still matching are tagged needs_review")
    p.add_argument("--overwrite", action="store_true",
                   help="replace results of another configuration in --field")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=run)


PARAMS = ("model", "num_inference_steps", "strength", "guidance_scale", "prompt", "negative_prompt",
          "scheduler", "crop_size", "context_px", "seed", "min_face_px", "fallback", "mask_grow",
          "mask_blur_px",
          "mask_ellipse", "link_unchanged", "jpeg_quality", "batch_size", "device", "dtype")


def run(args) -> int:
    from ldfa.plugin.anonymize import anonymize_faces
    from ldfa.plugin.image_folders import open_dataset

    dataset = open_dataset(args.dataset)
    params = {name: getattr(args, name) for name in PARAMS if getattr(args, name) is not None}
    summary = anonymize_faces(dataset, method=args.method, faces_field=args.faces_field,
                              out_field=args.field, output_dir=args.output_dir,
                              overwrite=args.overwrite, preset=args.preset,
                              identity_guard=args.identity_guard,
                              progress=not args.json, **params)
    emit(summary.to_dict(), args.json, str(summary))
    return 1 if summary.images and summary.failed == summary.images else 0
