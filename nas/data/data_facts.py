"""What a run trained and was measured on, recorded when a search or campaign starts (experiment.yaml,
campaign.yaml) so reports say only what the run recorded: the dataset, its classes and the image counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nas.plural import count_of

NOT_RECORDED = "not recorded"  # what a folder written before these facts were recorded says of them


@dataclass(frozen=True)
class DataFacts:
    """Every field may be None: not recorded (an older folder)."""

    dataset: str | None = None  # the dataset source's name (cifar10, imagefolder, ...)
    classes: int | None = None
    train_images: int | None = None
    val_images: int | None = None
    test_images: int | None = None
    subset: int | None = None  # the class-balanced subset of the training set asked for; None: all of it

    @classmethod
    def of(cls, splits, subset: int | None) -> "DataFacts":
        return cls(dataset=splits.dataset or None, classes=splits.num_classes, train_images=len(splits.train),
                   val_images=len(splits.val) if splits.val is not None else 0,
                   test_images=len(splits.test) if splits.test is not None else None, subset=subset)

    @classmethod
    def from_dict(cls, saved) -> "DataFacts":
        """The facts as saved; a missing mapping or key reads as not recorded."""
        saved = saved if isinstance(saved, dict) else {}
        return cls(**{key: saved.get(key) for key in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def recorded(self) -> bool:
        return self.dataset is not None

    def describe_dataset(self) -> str:
        if not self.recorded:
            return f"dataset {NOT_RECORDED}"
        return f"{self.dataset} ({count_of(self.classes, 'class') if self.classes else 'classes ' + NOT_RECORDED})"

    def describe_training(self) -> str:
        """How many images trained and validated a run, e.g. '1,600 training / 400 validation images'."""
        if self.train_images is None:
            return f"training images {NOT_RECORDED}"
        whole = "a class-balanced subset" if self.subset is not None else "the full training set"
        validation = f" / {self.val_images:,} validation" if self.val_images else ""
        return f"{self.train_images:,} training{validation} images ({whole})"

    def describe_test(self) -> str:
        return f"{self.test_images:,} test images" if self.test_images is not None else f"test images {NOT_RECORDED}"


    def describe_final_split(self) -> str:
        """A campaign's data in one sentence: what it trained on and what its accuracy was measured on."""
        if not self.recorded:
            return f"training and test data {NOT_RECORDED} (a campaign made before the engine recorded them)"
        return (f"{self.describe_dataset()}: trained on {self.describe_training()}, tested on "
                f"{self.describe_test()}; no model selection on the test set")
