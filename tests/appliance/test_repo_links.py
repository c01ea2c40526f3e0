"""The repository's symlinks are links: the packaged layouts and the image overlay's single copies.

A checkout that lost its links (an archive or copy without them) keeps a text file holding the target
path instead; the layouts would then look missing and the image would ship paths instead of units.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "image-build" / "rootfs-overlay"


def test_packaged_layouts_are_the_top_level_folder() -> None:
    link = ROOT / "roomagent" / "layouts_data"
    assert link.is_symlink() and link.resolve() == (ROOT / "layouts").resolve()
    assert (link / "lecture.toml").is_file()


def test_overlay_links_are_links_that_resolve_inside_the_repository() -> None:
    links = [p for p in OVERLAY.rglob("*") if p.is_symlink()]
    assert len(links) >= 12
    for link in links:
        target = link.resolve()
        assert target.is_file() and ROOT.resolve() in target.parents, f"{link} -> {target}"
    for path in OVERLAY.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_text(errors="replace")
            assert not text.startswith("../"), f"{path} holds a link target as text: {text.strip()}"
