import pytest

from tfpose import skeletons
from tfpose.skeletons import COCO, LSP, MPII, SKELETONS, get_skeleton, joint_correspondence


@pytest.mark.parametrize("skeleton", SKELETONS.values(), ids=list(SKELETONS))
def test_flip_pairs_are_symmetric_left_right(skeleton):
    perm = skeleton.flip_permutation
    assert sorted(perm) == list(range(skeleton.num_keypoints))
    assert all(perm[perm[k]] == k for k in range(skeleton.num_keypoints))
    for a, b in skeleton.flip_pairs:
        name_a, name_b = skeleton.joint_names[a], skeleton.joint_names[b]
        assert {name_a.split("_")[0], name_b.split("_")[0]} == {"left", "right"}
        assert name_a.split("_", 1)[1] == name_b.split("_", 1)[1]
    # Every unpaired joint is a midline joint (no left/right in its name).
    paired = {k for pair in skeleton.flip_pairs for k in pair}
    for k, name in enumerate(skeleton.joint_names):
        if k not in paired:
            assert not name.startswith(("left_", "right_")), name


@pytest.mark.parametrize("skeleton", SKELETONS.values(), ids=list(SKELETONS))
def test_limbs_valid_and_closed_under_flip(skeleton):
    assert len(set(skeleton.joint_names)) == skeleton.num_keypoints
    for a, b in skeleton.limbs:
        assert 0 <= a < skeleton.num_keypoints and 0 <= b < skeleton.num_keypoints and a != b
    assert len({frozenset(limb) for limb in skeleton.limbs}) == skeleton.num_limbs
    perm = skeleton.limb_flip_permutation
    assert sorted(perm) == list(range(skeleton.num_limbs))


def test_paper_facts():
    assert (MPII.num_keypoints, LSP.num_keypoints, COCO.num_keypoints) == (16, 14, 17)
    assert MPII.num_limbs == 15  # the recurrent model's 15 body-part maps
    assert MPII.pck_reference.kind == "head_box" and MPII.pck_reference.factor == 0.6
    assert LSP.pck_reference.joints == ("left_shoulder", "right_hip")
    # 1-based (8,10) in the released code is thorax -> head top.
    assert (MPII.index("thorax"), MPII.index("head_top")) in MPII.limbs


def test_correspondences():
    mpii_lsp = joint_correspondence(MPII, LSP)
    assert len(mpii_lsp) == 14
    assert (MPII.index("neck"), LSP.index("neck")) in mpii_lsp
    assert (MPII.index("right_wrist"), LSP.index("right_wrist")) in mpii_lsp
    coco_lsp = joint_correspondence(COCO, LSP)
    assert len(coco_lsp) == 12
    assert all(COCO.joint_names[a] == LSP.joint_names[b] for a, b in coco_lsp)


def test_unknown_names_are_readable():
    with pytest.raises(KeyError, match="known: coco, lsp, mpii"):
        get_skeleton("mpi")
    with pytest.raises(KeyError, match="has no joint 'nose'"):
        MPII.index("nose")


def test_no_other_module_defines_joint_tables():
    # The module is data only: no TensorFlow, no numpy.
    source = open(skeletons.__file__).read()
    assert "import tensorflow" not in source and "import numpy" not in source
