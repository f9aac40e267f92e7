"""A tqdm progress bar for Keras training (one bar per ensemble member, updated each epoch)."""

from __future__ import annotations

import keras
from tqdm.auto import tqdm


class TqdmEpochs(keras.callbacks.Callback):
    """Show epochs and the current training / validation loss in a tqdm bar."""

    def __init__(self, epochs: int, desc: str = "training") -> None:
        super().__init__()
        self.epochs = epochs
        self.desc = desc
        self.bar = None

    def on_train_begin(self, logs=None):  # noqa: D102
        self.bar = tqdm(total=self.epochs, desc=self.desc, unit="epoch", leave=False, mininterval=1.0)

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102
        logs = logs or {}
        self.bar.set_postfix(
            loss=f"{logs.get('loss', float('nan')):.3g}", val=f"{logs.get('val_loss', float('nan')):.3g}", refresh=False
        )
        self.bar.update(1)

    def on_train_end(self, logs=None):  # noqa: D102
        if self.bar is not None:
            self.bar.close()
