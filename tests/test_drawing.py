"""Overlays and heatmap grids: marks land where the keypoints are, visible and occluded joints
look different, the grid has one column per pass."""

import numpy as np
import pytest

from tfpose import drawing
from tfpose.skeletons import MPII


def _pose():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(40, 440, size=(MPII.num_keypoints, 2)).astype(np.float32)
    return keypoints, np.full(MPII.num_keypoints, 0.8, np.float32)


def test_draw_pose_marks_visible_and_occluded_joints_differently():
    image = np.zeros((480, 480, 3), np.uint8)
    keypoints, confidence = _pose()
    keypoints[0], keypoints[1] = (100, 100), (300, 300)
    visibility = np.full(MPII.num_keypoints, 0.9, np.float32)
    visibility[1] = 0.1
    canvas = drawing.draw_pose(
        image, keypoints, confidence, visibility, MPII, show_confidence=False
    )
    assert canvas.shape == image.shape and not np.array_equal(canvas, image)
    assert np.all(image == 0)  # drawn on a copy
    # Filled disc: the pixel just right of the centre is white; hollow circle with a diagonal
    # cross: that pixel is background.
    assert canvas[100, 102].min() > 200
    assert canvas[300, 302].max() < 60


def test_limb_colors_are_distinct():
    colors = drawing.limb_colors(MPII.num_limbs)
    assert len(colors) == MPII.num_limbs == len(set(colors))


def test_confidence_labels_and_box_are_drawn():
    image = np.zeros((200, 200, 3), np.uint8)
    keypoints, confidence = _pose()
    keypoints = keypoints / 3
    plain = drawing.draw_pose(image, keypoints, confidence, confidence, MPII, show_confidence=False)
    labelled = drawing.draw_pose(
        image, keypoints, confidence, confidence, MPII, box=np.array([5, 20, 190, 190])
    )
    assert (labelled != plain).any(axis=-1).sum() > 200


def test_resize_to_max_side():
    image = np.zeros((300, 900, 3), np.uint8)
    assert drawing.resize_to_max_side(image, 480).shape == (160, 480, 3)
    assert drawing.resize_to_max_side(image, 0) is image


def test_heatmap_grid_has_a_column_per_pass_and_a_row_per_joint():
    crop = np.full((32, 32, 3), 100, np.uint8)
    maps = np.zeros((8, 8, MPII.num_keypoints), np.float32)
    maps[4, 4, MPII.index("left_wrist")] = 12.0
    passes = [("keypoints_0", maps * 0.5), ("keypoints_1", maps), ("keypoints_2", maps)]
    grid = drawing.heatmap_grid(crop, passes, MPII, amplitude=12.0, cell_size=64)
    rows = 1 + len(drawing.DEFAULT_GRID_JOINTS)
    assert grid.shape == (22 + rows * 66, 96 + 3 * 66, 3)
    # The left-wrist row lights up where the map peaks; the right-wrist row stays dark.
    left, right = 1 + 0, 1 + 1  # DEFAULT_GRID_JOINTS order: left_wrist, right_wrist

    def cell(row, col):
        y, x = 22 + row * 66, 96 + col * 66
        return grid[y : y + 64, x : x + 64].astype(int)

    assert cell(left, 2)[28:36, 28:36].sum() > cell(right, 2)[28:36, 28:36].sum() + 1000
    with pytest.raises(ValueError, match="at least one pass"):
        drawing.heatmap_grid(crop, [], MPII, 12.0)


def test_annotation_style_skips_unannotated_joints_and_colours_by_side():
    image = np.zeros((100, 100, 3), np.uint8)
    keypoints = np.full((MPII.num_keypoints, 2), 50.0, np.float32)
    left, right = MPII.index("left_wrist"), MPII.index("right_wrist")
    keypoints[left], keypoints[right] = (20, 20), (80, 80)
    visible = np.zeros(MPII.num_keypoints, bool)
    visible[[left, right]] = True
    drawn = visible.copy()
    canvas = drawing.draw_skeleton(
        image, keypoints, MPII, visible, drawn=drawn, style=drawing.ANNOTATION
    )
    np.testing.assert_array_equal(canvas[20, 20], drawing.SIDE_COLORS["left"])
    np.testing.assert_array_equal(canvas[80, 80], drawing.SIDE_COLORS["right"])
    assert not canvas[40:60, 40:60].any()  # the joints not drawn (and their limbs) are absent


def test_overlay_heatmap_shows_the_map_and_keeps_the_image_elsewhere():
    image = np.full((64, 64, 3), 200, np.uint8)
    values = np.zeros((16, 16), np.float32)
    values[8, 8] = 2.0
    shown = drawing.overlay_heatmap(image, values, amplitude=2.0)
    assert shown.shape == image.shape
    assert (shown[0, 0] == 100).all()  # dimmed by half where the map is empty
    assert shown[32:36, 32:36].astype(int).sum() != 100 * 3 * 16
    grey = drawing.overlay_heatmap(image, np.ones((16, 16)), 1.0, dim=1.0, colormap=None)
    assert (grey == 255).all()
    fixed = drawing.overlay_heatmap(image, np.zeros((16, 16)), 1.0, colormap=None, opacity=0.5)
    assert (fixed == 50).all()  # half of the dimmed image under a black map


def test_heatmap_strips_put_panels_side_by_side_scaled_to_one():
    predicted = np.random.default_rng(0).uniform(0, 5, (6, 8, 8, 3)).astype(np.float32)
    strips = drawing.heatmap_strips([predicted, predicted * 10, None])
    assert strips.shape == (4, 8, 16, 1)
    assert strips.max() == pytest.approx(1.0)
    np.testing.assert_allclose(strips[:, :, :8], strips[:, :, 8:], rtol=1e-6)


def test_tile_grid_lays_out_rows_with_a_footer():
    tiles = [np.zeros((10, 20, 3), np.uint8)] * 5
    sheet = drawing.tile_grid(tiles, 2, footer="legend")
    assert sheet.shape == (3 * 12 + 22, 2 * 22 - 2, 3)
    assert (sheet[:10, :20] == 0).all() and (sheet[10:12] == 255).all()
    assert drawing.tile_grid(tiles, 5).shape == (12, 5 * 22 - 2, 3)
    with pytest.raises(ValueError, match="columns"):
        drawing.tile_grid(tiles, 0)
