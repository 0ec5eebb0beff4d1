import io

import numpy as np
from PIL import Image

from dcgan import images


def test_to_uint8_maps_each_range_onto_0_to_255():
    np.testing.assert_array_equal(
        images.to_uint8(np.array([-1.0, 0.0, 1.0, 2.0]), (-1.0, 1.0)),
        [0, 128, 255, 255],
    )
    np.testing.assert_array_equal(
        images.to_uint8(np.array([0.0, 0.5, 1.0]), (0.0, 1.0)), [0, 128, 255]
    )


def test_tile_lays_digits_out_row_by_row():
    digits = np.stack([np.full((28, 28), value, np.uint8) for value in (10, 20, 30)])
    canvas = images.tile(digits, cols=2, padding=2)
    assert canvas.shape == (2 * 30 + 2, 2 * 30 + 2)
    assert canvas[2, 2] == 10 and canvas[2, 32] == 20 and canvas[32, 2] == 30
    assert canvas[0, 0] == 0  # gutter


def test_png_and_gif_decode_to_what_was_drawn():
    frames = [np.full((10, 12), value, np.uint8) for value in (0, 100, 200)]
    png = Image.open(io.BytesIO(images.to_png(frames[1], scale=3)))
    assert png.size == (36, 30)
    assert np.asarray(png)[0, 0] == 100
    gif = Image.open(io.BytesIO(images.to_gif(frames, frame_ms=50, scale=1)))
    assert gif.n_frames == 3


def test_sample_history_gif_has_a_frame_per_epoch(tmp_path):
    paths = []
    for epoch in range(3):
        path = tmp_path / f"epoch-{epoch:04d}.png"
        path.write_bytes(images.to_png(np.full((20, 20), epoch * 100, np.uint8)))
        paths.append(path)
    gif = Image.open(io.BytesIO(images.gif_from_pngs(paths)))
    assert gif.n_frames == 3
    gif.seek(2)
    assert np.asarray(gif.convert("L"))[5, 5] == 200
