"""A tiny random-weight Stable Diffusion inpainting pipeline, ControlNet and IP-Adapter, saved
as local model folders.

    PYTHONPATH=tests .venv/bin/python -m ldfa_testing.tiny_pipeline DIR
    ldfa anonymize --method ldfa --model DIR ...      # then

Same classes and code paths as the real model (``StableDiffusionInpaintPipeline`` with a
9-channel UNet, an 8x-downscaling VAE, a CLIP text encoder and tokenizer), a few thousand times
smaller, so tests run the real diffusion engine offline in seconds. Its faces are noise.
``DIR`` also gets ``controlnet/`` (a ``ControlNetModel`` of the UNet's widths, for
``--controlnet``) and ``ip-adapter/ip-adapter.safetensors`` beside ``ip-adapter/image_encoder/``
(the layout ``load_ip_adapter`` reads, for ``--ip-adapter``).
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
    build_controlnet(folder / "controlnet", seed=seed + 1)
    build_ip_adapter(folder / "ip-adapter", unet, seed=seed + 2)
    return folder


def build_controlnet(folder: str | Path, seed: int = 1) -> Path:
    """A tiny random ControlNet matching the tiny UNet's widths (it takes the 4-channel latents)."""
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    net = ControlNetModel(
        in_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), cross_attention_dim=32,
        attention_head_dim=8, conditioning_embedding_out_channels=(8, 16, 32, 64),
    )
    # A new ControlNet's output convolutions start at zero (it adds nothing until trained):
    # random ones, so that its condition changes the result, as a trained one's does.
    with torch.no_grad():
        for conv in [*net.controlnet_down_blocks, net.controlnet_mid_block,
                     net.controlnet_cond_embedding.conv_out]:
            conv.weight.normal_(0.0, 0.1)
    net.save_pretrained(folder)
    return Path(folder)


def build_ip_adapter(folder: str | Path, unet, seed: int = 2) -> Path:
    """A tiny random IP-Adapter for ``unet``: a CLIP image encoder in ``image_encoder/`` and the
    weight file (image projection, then ``to_k_ip``/``to_v_ip`` of each cross-attention layer,
    numbered 1, 3, 5, ... in the UNet's processor order, as the published files are); returns
    the weight file's path."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    folder = Path(folder)
    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, image_size=32, patch_size=8))
    encoder.save_pretrained(folder / "image_encoder")
    cross, tokens = unet.config.cross_attention_dim, 4  # a plain IP-Adapter: 4 image tokens
    tensors = {"image_proj.proj.weight": torch.randn(tokens * cross, 32) * 0.1,
               "image_proj.proj.bias": torch.zeros(tokens * cross),
               "image_proj.norm.weight": torch.ones(cross), "image_proj.norm.bias": torch.zeros(cross)}
    key = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        to_k = unet.get_submodule(name.removesuffix(".processor")).to_k.weight
        tensors[f"ip_adapter.{key}.to_k_ip.weight"] = torch.randn_like(to_k) * 0.1
        tensors[f"ip_adapter.{key}.to_v_ip.weight"] = torch.randn_like(to_k) * 0.1
        key += 2
    save_file({k: v.contiguous() for k, v in tensors.items()}, folder / "ip-adapter.safetensors")
    return folder / "ip-adapter.safetensors"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m ldfa_testing.tiny_pipeline DIR")
    print(f"tiny inpainting pipeline written to {build(sys.argv[1])}")
