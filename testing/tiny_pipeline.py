"""A tiny random-weight Stable Diffusion inpainting pipeline, saved as a local model folder.

    python -m ldfa.testing.tiny_pipeline DIR     # then: ldfa anonymize --method ldfa --model DIR ...

Same classes and code paths as the real model (``StableDiffusionInpaintPipeline`` with a
9-channel UNet, an 8x-downscaling VAE, a CLIP text encoder and tokenizer), a few thousand times
smaller, so tests run the real diffusion engine offline in seconds. Its faces are noise.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's byte-level alphabet: each byte maps to one printable character."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def write_tokenizer(folder: Path):
    """A CLIP tokenizer whose vocabulary is the 256 byte characters (no merges)."""
    from transformers import CLIPTokenizer

    alphabet = list(_bytes_to_unicode().values())
    vocab = {tok: i for i, tok in enumerate(alphabet + [c + "</w>" for c in alphabet])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def assemble(unet, vae, text_encoder):
    """An inpainting pipeline around these models, with SD 1.5's scheduler and our tokenizer."""
    from diffusers import PNDMScheduler, StableDiffusionInpaintPipeline

    with tempfile.TemporaryDirectory() as vocab:
        tokenizer = write_tokenizer(Path(vocab))
    return StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                skip_prk_steps=True, steps_offset=1, set_alpha_to_one=False),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def build(folder: str | Path, seed: int = 0) -> Path:
    """Build the tiny pipeline with fixed random weights and save it into ``folder``."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=9,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        attention_head_dim=8,
    )
    # Four levels: the real model's 8x downscaling, so latents stay small and attention cheap.
    vae = AutoencoderKL(
        block_out_channels=(8, 16, 32, 32), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=1,
        norm_num_groups=8, sample_size=128,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=512, eos_token_id=513, pad_token_id=513, hidden_size=32, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=514, max_position_embeddings=77,
    ))
    pipe = assemble(unet, vae, text_encoder)
    pipe.save_pretrained(folder)
    return folder


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m ldfa.testing.tiny_pipeline DIR")
    print(f"tiny inpainting pipeline written to {build(sys.argv[1])}")
