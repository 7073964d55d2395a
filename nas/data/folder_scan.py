"""Reading the layout of an image-folder tree: ROOT/train/<class>/<image>, and ROOT/test/ or ROOT/val/ alike."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nas.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".ppm")
TEST_FOLDER_NAMES = ("test", "val")


@dataclass
class FolderListing:
    """The image files of one split, sorted by class then name, with each file's size and mtime for the cache key."""

    split_dir: Path
    classes: list[str]
    files: list[str]  # absolute paths
    labels: list[int]
    stats: list[tuple[int, int]]  # (size, mtime_ns)

    def fingerprint_lines(self) -> list[str]:
        # The files are split_dir/<class>/<name>: cutting the prefix is os.path.relpath at a fifth of the cost.
        prefix = len(os.path.join(self.split_dir, ""))
        return [f"{path[prefix:]}\t{size}\t{mtime}" for path, (size, mtime) in zip(self.files, self.stats)]


def find_test_dir(root: Path) -> Path | None:
    for name in TEST_FOLDER_NAMES:
        if (root / name).is_dir():
            return root / name
    return None


def check_root(root: Path) -> Path:
    if not root.exists():
        raise DataError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"dataset path {root} is not a folder")
    if not (root / "train").is_dir():
        found = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))[:8]
        raise DataError(
            f"{root} is not an image-folder tree: expected {root}/train/<class>/<image files> "
            f"(and test/ or val/ alike); found {found or 'nothing'}"
        )
    return root


def list_split(split_dir: Path, classes: list[str] | None = None) -> FolderListing:
    """List a split's images. With `classes` given (the test split), its class folders must be among them."""
    class_dirs = sorted(
        (entry for entry in os.scandir(split_dir) if entry.is_dir() and not entry.name.startswith(".")),
        key=lambda entry: entry.name,
    )
    if not class_dirs:
        loose = [e.name for e in os.scandir(split_dir) if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)]
        hint = f" (it holds {len(loose)} loose images: put them in one folder per class)" if loose else ""
        raise DataError(f"{split_dir} has no class folders; expected {split_dir}/<class>/<image files>{hint}")
    names = [entry.name for entry in class_dirs]
    if classes is None:
        check_classes(split_dir, names)
        classes = names
    else:
        unknown = sorted(set(names) - set(classes))
        if unknown:
            raise DataError(f"{split_dir} has class folders not in train/: {', '.join(unknown[:5])}")
    class_index = {name: i for i, name in enumerate(classes)}
    files: list[str] = []
    labels: list[int] = []
    stats: list[tuple[int, int]] = []
    for class_dir in class_dirs:
        entries = sorted(
            # hidden files such as macOS "._x.jpg" resource forks carry an image extension but are not images
            (e for e in os.scandir(class_dir.path)
             if e.is_file() and not e.name.startswith(".") and e.name.lower().endswith(IMAGE_EXTENSIONS)),
            key=lambda e: e.name,
        )
        if not entries:
            raise DataError(f"class folder {class_dir.path} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        for entry in entries:
            stat = entry.stat()
            files.append(entry.path)
            labels.append(class_index[class_dir.name])
            stats.append((stat.st_size, stat.st_mtime_ns))
    return FolderListing(split_dir=split_dir, classes=list(classes), files=files, labels=labels, stats=stats)


def check_classes(where, classes: list[str]) -> None:
    """One class would train a classifier that is always right: every candidate would score 1.000."""
    if len(classes) < 2:
        raise DataError(f"{where} has {len(classes)} class ({', '.join(classes) or 'none'}): a classifier needs at "
                        f"least 2")


def fingerprint(*parts: list[str]) -> str:
    """A hash of file names, sizes and mtimes: any added, removed or rewritten file changes it."""
    digest = hashlib.sha256()
    for lines in parts:
        for line in lines:
            digest.update(line.encode())
            digest.update(b"\n")
        digest.update(b"--split--\n")
    return digest.hexdigest()
