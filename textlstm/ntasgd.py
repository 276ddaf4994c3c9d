"""Non-monotonically triggered averaged SGD (NT-ASGD, Merity et al. 2017): the optimizer and its trigger.

SGD runs until validation stalls; from then on the optimizer also keeps
the mean of the weights after each step (averaged SGD, Polyak & Juditsky
1992), and evaluation, checkpoints and the export use that mean. Keras
callbacks evaluate and checkpoint the model's own weights, so the trigger
callback swaps the mean into the model for validation and swaps the
iterate back when the next epoch starts:

    epoch:       train (iterate in the model) | validate, checkpoint (mean in the model, iterate in the optimizer)

A checkpoint then holds both, the mean as the model's weights: the best
epoch's checkpoint gives the averaged model, and a resumed run swaps the
iterate back and continues the mean where it stopped.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textlstm")
class AveragedSGD(keras.optimizers.SGD):
    """SGD that also keeps, once `start_averaging()` is called, the mean of the weights after each step.

    `averages` holds, per variable, the mean of its values after each step
    since averaging started (as PyTorch's `ASGD(t0=0, lambd=0)`), and
    before that its value after the last step. `swap_averages()` exchanges
    the variables with their averages.

    Args:
        learning_rate: The SGD learning rate.
        **kwargs: The arguments of `keras.optimizers.SGD`.

    Example:

    >>> weight = keras.Variable([0.0])
    >>> optimizer = AveragedSGD(learning_rate=1.0)
    >>> optimizer.build([weight])
    >>> optimizer.start_averaging()
    >>> for _ in range(3):
    ...     optimizer.apply([ops.array([-1.0])], [weight])
    >>> weight.numpy().tolist(), optimizer.averages[0].numpy().tolist()  # the mean of 1, 2 and 3
    ([3.0], [2.0])
    """

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.averages = []
        for variable in variables:
            average = self.add_variable_from_reference(variable, name="average")
            average.assign(variable)
            self.averages.append(average)
        # The step count at which averaging started; -1 until then.
        self.averaging_start = self.add_variable((), initializer=keras.initializers.Constant(-1), dtype="int64",
                                                 name="averaging_start")

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, learning_rate)
        average = self.averages[self._get_variable_index(variable)]
        averaging = ops.greater_equal(self.averaging_start, 0)
        count = ops.cast(self.iterations - self.averaging_start + 1, variable.dtype)  # steps averaged, this one too
        weight = ops.where(averaging, 1 / ops.maximum(count, 1), 1)
        self.assign_add(average, (variable - average) * weight)

    @property
    def averaging(self):
        """True once `start_averaging` was called."""
        return bool(ops.convert_to_numpy(self.averaging_start) >= 0)

    def start_averaging(self):
        """Averages the weights after every step from the next one on (a no-op once averaging)."""
        if not self.averaging:
            self.averaging_start.assign(self.iterations)

    def swap_averages(self):
        """Exchanges the values of the variables the optimizer was built on with their averages."""
        for variable, average in zip(self._trainable_variables, self.averages):
            current = ops.copy(variable)
            variable.assign(average)
            average.assign(current)


class AverageWhenStalled(keras.callbacks.Callback):
    """NT-ASGD's trigger and swaps for a model compiled with `AveragedSGD`.

    Validation runs on the averaged weights: `on_test_begin` swaps them
    into the model, and `on_epoch_begin` swaps the iterate back, so that
    the epoch's checkpoint (`EpochCheckpoint`, at the end of the epoch)
    holds the averages as the model's weights and the iterate in the
    optimizer. Before averaging starts the averages are the weights
    themselves and the swaps change nothing.

    Averaging starts after the epoch at which `monitor` has not improved
    for `nonmono` epochs, counted as `keras.callbacks.EarlyStopping` counts
    its patience (`best` and `wait`, which `RestoreMonitors` restores on a
    resumed run). Merity et al. compare with the best value from before the
    last `nonmono` epochs instead; both wait for a stall of `nonmono`
    epochs.

    Args:
        monitor: The validation log key to minimise.
        nonmono: Epochs without improvement before averaging starts; 0 starts
            it after the first epoch.
    """

    def __init__(self, monitor, nonmono):
        super().__init__()
        self.monitor = monitor
        self.nonmono = nonmono
        self.best, self.wait = math.inf, 0

    def on_train_begin(self, logs=None):
        self.best, self.wait = math.inf, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.swap_averages()

    def on_test_begin(self, logs=None):
        self.model.optimizer.swap_averages()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if value < self.best:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
        if self.wait >= self.nonmono:
            self.model.optimizer.start_averaging()
