"""Generated or real digits to uint8 pixels, PNG grids and animated GIFs (Pillow)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from dcgan.runs import write_atomic


def to_uint8(images: np.ndarray, data_range: tuple[float, float]) -> np.ndarray:
    """Images in `data_range` (any shape) to uint8 pixels in [0, 255]."""
    low, high = data_range
    scaled = (np.asarray(images, dtype=np.float32) - low) / (high - low)
    return np.rint(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)


def tile(images: np.ndarray, cols: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 digits (n, h, w) tiled row by row into one (H, W) image, dark gutters."""
    count, height, width = images.shape
    cols = cols or math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    canvas = np.zeros(
        (rows * (height + padding) + padding, cols * (width + padding) + padding),
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        top = padding + row * (height + padding)
        left = padding + col * (width + padding)
        canvas[top : top + height, left : left + width] = image
    return canvas


def to_png(pixels: np.ndarray, scale: int = 1) -> bytes:
    """A uint8 (H, W) image as PNG bytes, enlarged `scale` times without blurring."""
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8))
    if scale > 1:
        image = image.resize(
            (image.width * scale, image.height * scale), Image.Resampling.NEAREST
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_grid(images: np.ndarray, path: Path, cols: int | None = None) -> None:
    """Tile uint8 digits (n, h, w) and write them as a PNG, atomically."""
    write_atomic(path, to_png(tile(images, cols)))


def to_gif(frames: list[np.ndarray], frame_ms: int = 120, scale: int = 2) -> bytes:
    """uint8 (H, W) frames as a looping animated GIF."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    pictures = [Image.open(io.BytesIO(to_png(frame, scale))) for frame in frames]
    buffer = io.BytesIO()
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=frame_ms,
        loop=0,
    )
    return buffer.getvalue()


def gif_from_pngs(paths: list[Path], frame_ms: int = 400) -> bytes:
    """The PNG images at `paths` as a looping GIF (the sample grid, epoch by epoch)."""
    frames = [np.asarray(Image.open(path).convert("L")) for path in paths]
    return to_gif(frames, frame_ms=frame_ms, scale=1)
