"""Keras model files built in memory, and checkpoints checked before a run continues from them.

h5py, which writes Keras's weights, fails on a full disk in ways Python
cannot catch (errors from its destructors, then a segmentation fault). So
the files are built in a `BytesIO` and written by the caller with plain
writes (`textlstm.files.write_atomically`), where a full disk is one
`OSError`; h5py only ever reads from the disk.
"""

import io
import os

from textlstm.errors import first_line


def weights_bytes(model):
    """The `.weights.h5` file of `model.save_weights` (weights and optimizer state), built in memory.

    What `save_weights` does, Keras's own `H5IOStore` and state walk, given
    a `BytesIO` instead of a path. The file loads with `model.load_weights`.
    """
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, store, None, "", set())  # weights store, no assets, root path, nothing visited
    finally:
        store.close()
    return buffer.getvalue()


def model_bytes(model):
    """The `.keras` file of `model.save`, built in memory (Keras's `save_model` into a `BytesIO`)."""
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    saving_lib.save_model(model, buffer)
    return buffer.getvalue()


def checkpoint_problem(path):
    """Why the checkpoint at path cannot be read ("it is missing", h5py's reason), or None if every array reads."""
    import h5py

    if not os.path.isfile(path):
        return "it is missing"

    def read(name, item):
        if isinstance(item, h5py.Dataset):
            item[()]

    try:
        with h5py.File(path, "r") as file:
            file.visititems(read)
    except Exception as error:  # h5py raises OSError, KeyError, RuntimeError ... for a damaged file
        return first_line(error)
    return None
