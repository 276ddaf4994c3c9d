"""The training loop of every strategy: each step sums the replicas' gradients, clips them once, then applies them.

Keras's `fit` clips each replica's gradients on its own before it sums them
(so `global_clipnorm=t` over N replicas acts like a threshold up to N·t) and
does not run under `MultiWorkerMirroredStrategy` in Keras 3. This loop runs
under any `tf.distribute` strategy, and a step on N replicas with a global
batch of B rows makes the update that one device makes with the same B rows:

    loss_r = Σ_r' token losses · weights / Σ over all replicas of the weights
             (+ the model's own losses, `model.losses`, by replica r's share of the weights)
    g = Σ_r ∇loss_r                       all-reduced across replicas and workers
    g = the optimizer's clipping of g     `clipnorm` per tensor or `global_clipnorm`, once
    optimizer.apply(g)                    with its clipping switched off for this call

Every random draw of a training step (the dropout masks of the layers'
`keras.random.SeedGenerator`s) depends on the generator's seed and the step
alone: before each step the loop sets every generator of the model to
`step_seed(seed, step)`. A run resumed from a checkpoint then draws the
masks that an uninterrupted run draws, and every replica draws what one
device draws (per-row masks take their rows of a draw over the global
batch: `textlstm.cells.base.rows_dropout_mask`).

The Keras callbacks (checkpoints, schedules, early stopping) run from the
loop through `keras.callbacks.CallbackList`, with the logs `fit` gives:
`loss` (the mean of the steps' losses), `val_loss`, and with `perplexity`
also `perplexity` and `val_perplexity` (exp of the mean loss per weighted token).
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf

from textlstm.cells.base import replica_rows

SUM = tf.distribute.ReduceOp.SUM


@contextlib.contextmanager
def clipping_off(optimizer):
    """Switches the optimizer's own clipping off within the block (the loop has clipped already)."""
    settings = optimizer.clipnorm, optimizer.global_clipnorm, optimizer.clipvalue
    optimizer.clipnorm = optimizer.global_clipnorm = optimizer.clipvalue = None
    try:
        yield
    finally:
        optimizer.clipnorm, optimizer.global_clipnorm, optimizer.clipvalue = settings


def restarting_rows(seed, step, batch_size, rate):
    """Which rows of a global batch restart their states from zeros at a training step, each with probability rate.

    Truncated backpropagation through time carries each stream's states from
    one window to the next, from zeros only at the start of an epoch, and
    never sends a gradient back to where they were set. A model trained so
    (with Adam above all) can come to rely on states that earlier weights
    wrote and its own weights never write from zeros: its training loss
    looks fine while evaluation and prompts, which start from zeros, do
    worse than a uniform guess. Restarting a few streams at every step makes
    the model learn to predict from zero states too.

    The draw depends on the seed and the step alone, so a resumed run
    restarts the streams an uninterrupted one does, and each replica takes
    its rows of the same draw.

    Args:
        seed: An integer.
        step: The optimizer's step count.
        batch_size: Rows of a global batch.
        rate: The probability of a restart.

    Returns:
        A bool tensor (batch_size,).

    Example:

    >>> restarting_rows(seed=1, step=7, batch_size=6, rate=0.5).numpy().tolist()
    [True, False, False, True, False, True]
    """
    # Folded, not [seed, step]: Keras's dropout with the same seed draws from [seed, its own count of calls].
    step_seed = tf.random.experimental.stateless_fold_in(tf.constant([seed, 0], tf.int64), tf.cast(step, tf.int64))
    return tf.random.stateless_uniform((batch_size,), seed=step_seed) < rate


def step_seed(seed, step):
    """The state of a `keras.random.SeedGenerator` of seed `seed` at the start of a training step.

    Example:

    >>> first, again, next_step = step_seed(seed=1, step=7), step_seed(1, 7), step_seed(1, 8)
    >>> bool((first == again).numpy().all()), bool((first == next_step).numpy().all())
    (True, False)
    """
    # [seed, 1]: restarting_rows folds the step into [seed, 0], and a generator's seed may be the run's seed.
    return tf.random.experimental.stateless_fold_in(tf.constant([seed, 1], tf.int64), tf.cast(step, tf.int64))


def seed_generator_states(model):
    """The state variables of the model's `keras.random.SeedGenerator`s: its `variables` that are not weights."""
    weights = {id(weight) for weight in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]


class TrainingLoop:
    """Trains and evaluates a model built under `strategy.scope()` on per-replica shares of each global batch.

    Args:
        strategy: The `tf.distribute.Strategy` the model's variables belong to.
        model: A compiled Keras model. With `carry_states`, it takes
            `[inputs, *states]` and returns `[predictions, *final_states]`.
        loss: (y_true, y_pred, sample_weight) -> (sum of weighted token
            losses, sum of the weights) of one replica's rows.
        batches: (split, first_row, num_rows, epoch) -> `tf.data.Dataset` of
            (x, y, sample_weight): rows [first_row, first_row + num_rows) of
            each global batch (`TaskData.batches`).
        batch_size: Rows of a global batch.
        carry_states: Each replica carries the model's states from one batch
            to the next, from zeros at the start of each epoch and evaluation.
        perplexity: Also log `perplexity` and `val_perplexity`.
        state_reset: With `carry_states`, the probability that a row's states
            restart from zeros at a training step (`restarting_rows`).
        seed: Seed of the restarts.
    """

    def __init__(self, strategy, model, loss, batches, batch_size, carry_states=False, perplexity=False,
                 state_reset=0.0, seed=0):
        self.strategy = strategy
        self.model = model
        self.loss = loss
        self.batches = batches
        self.batch_size = batch_size
        self.rows = batch_size // strategy.num_replicas_in_sync
        self.carry_states = carry_states
        self.perplexity = perplexity
        self.state_reset = state_reset
        self.seed = seed
        with strategy.scope():  # the optimizer's variables are the strategy's too
            model.optimizer.build(model.trainable_variables)
        # A generator's state is [its seed, its count of draws] until the first step.
        self.seed_generators = [(state, int(state.numpy()[0])) for state in seed_generator_states(model)]
        self._train_step = tf.function(self._train_step_fn)
        self._test_step = tf.function(self._test_step_fn)

    # One step, in the cross-replica context.

    def _replica_losses(self, x, y, sample_weight, states, training):
        inputs = [x, *states] if self.carry_states else x
        outputs = self.model(inputs, training=training)
        predictions, states = (outputs[0], list(outputs[1:])) if self.carry_states else (outputs, [])
        # Read now: the replicas' threads share the model, and the next one's call replaces its losses as soon
        # as this one waits for the all-reduce.
        own_losses = tf.add_n(self.model.losses) if training and self.model.losses else None
        loss_sum, weight_sum = self.loss(y, predictions, sample_weight)
        total_weight = tf.distribute.get_replica_context().all_reduce(SUM, weight_sum)
        loss = tf.math.divide_no_nan(loss_sum, total_weight)
        if own_losses is not None:
            loss += own_losses * tf.math.divide_no_nan(weight_sum, total_weight)
        return loss, loss_sum, weight_sum, states

    def _train_step_fn(self, x, y, sample_weight, states):
        variables = self.model.trainable_variables
        for state, seed in self.seed_generators:
            state.assign(step_seed(seed, self.model.optimizer.iterations))

        def replica_step(x, y, sample_weight, states):
            if self.state_reset:
                restart = restarting_rows(self.seed, self.model.optimizer.iterations, self.batch_size, self.state_reset)
                kept = tf.cast(~replica_rows(restart, self.rows)[:, None], states[0].dtype)  # (rows, 1): this replica's
                states = [state * kept for state in states]
            with tf.GradientTape() as tape:
                loss, loss_sum, weight_sum, states = self._replica_losses(x, y, sample_weight, states, True)
            gradients = [tf.convert_to_tensor(gradient) for gradient in tape.gradient(loss, variables)]
            return loss, loss_sum, weight_sum, gradients, states

        loss, loss_sum, weight_sum, gradients, states = self.strategy.run(
            replica_step, args=(x, y, sample_weight, states))
        gradients = [self.strategy.reduce(SUM, gradient, axis=None) for gradient in gradients]
        optimizer = self.model.optimizer
        gradients = optimizer._clip_gradients(gradients)  # the optimizer's own clipping, on the summed gradients
        with clipping_off(optimizer):
            optimizer.apply(gradients, variables)
        return self._sums(loss, loss_sum, weight_sum), states

    def _test_step_fn(self, x, y, sample_weight, states):
        loss, loss_sum, weight_sum, states = self.strategy.run(
            self._replica_losses, args=(x, y, sample_weight, states, False))
        return self._sums(loss, loss_sum, weight_sum), states

    def _sums(self, *per_replica):
        return tuple(self.strategy.reduce(SUM, value, axis=None) for value in per_replica)

    def share_from_chief(self, done, initial_epoch, history, epochs):
        """Gives every worker of a cluster the chief's start: its weights and optimizer state, and its run's progress.

        Only the chief reads the run directory (the other workers may be on
        machines without it), so the others get from it what it restored.
        A no-op outside `MultiWorkerMirroredStrategy`.

        Args:
            done: Whether training is over.
            initial_epoch: Epochs done.
            history: The monitored value of each epoch done (None where there was none).
            epochs: The configured number of epochs, the longest history.

        Returns:
            The chief's (done, initial_epoch, history).
        """
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return done, initial_epoch, history
        progress = np.full(epochs + 2, np.nan, np.float32)
        progress[:2] = done, initial_epoch
        progress[2:2 + len(history)] = [np.nan if value is None else value for value in history]
        variables = self.model.variables + self.model.optimizer.variables

        def from_first_replica():
            context = tf.distribute.get_replica_context()
            values = [tf.convert_to_tensor(variable) for variable in variables] + [tf.constant(progress)]
            first = tf.equal(context.replica_id_in_sync_group, 0)
            # One by one: an all-reduce of several tensors packs them together, which needs one dtype.
            return [context.all_reduce(SUM, tf.where(first, value, tf.zeros_like(value))) for value in values]

        shared = tf.function(lambda: self.strategy.run(from_first_replica))()
        local = [self.strategy.experimental_local_results(value)[0] for value in shared]
        for variable, value in zip(variables, local[:-1]):
            variable.assign(value)
        progress = local[-1].numpy()
        history = [None if np.isnan(value) else float(value) for value in progress[2:2 + int(progress[1])]]
        return bool(progress[0]), int(progress[1]), history

    # Data and states, one share per replica.

    def _distributed(self, split, epoch):
        """Yields each global batch as per-replica values: replica r gets rows [r * rows, (r + 1) * rows)."""
        iterators = {}

        def share(context):
            replica = context.replica_id_in_sync_group
            if replica not in iterators:
                iterators[replica] = iter(self.batches(split, replica * self.rows, self.rows, epoch))
            return next(iterators[replica])

        while True:
            try:
                yield self.strategy.experimental_distribute_values_from_function(share)
            except StopIteration:
                return

    def _zero_states(self):
        if not self.carry_states:
            return []
        shapes = [tuple(state.shape[1:]) for state in self.model.inputs[1:]]
        return self.strategy.experimental_distribute_values_from_function(
            lambda context: [tf.zeros((self.rows, *shape)) for shape in shapes])

    def _run_split(self, split, epoch, step, on_batch_end=None):
        """Runs step over a split; returns the mean step loss, the summed token losses and the summed weights."""
        states, totals, steps = self._zero_states(), np.zeros(3), 0
        for batch in self._distributed(split, epoch):
            (loss, loss_sum, weight_sum), states = step(*batch, states)
            values = np.array([float(loss), float(loss_sum), float(weight_sum)])
            totals += values
            steps += 1
            if on_batch_end:
                on_batch_end(steps - 1, {"loss": values[0]})
        return totals[0] / max(steps, 1), totals[1], totals[2]

    def _logs(self, prefix, mean_loss, loss_sum, weight_sum):
        logs = {f"{prefix}loss": mean_loss}
        if self.perplexity:
            with np.errstate(over="ignore"):  # a diverged run's perplexity is inf, as fit logs it
                logs[f"{prefix}perplexity"] = float(np.exp(loss_sum / weight_sum)) if weight_sum else float("nan")
        return logs

    def evaluate(self, split="valid"):
        """The logs of one pass over split (`loss`, and `perplexity` if asked), states from zeros."""
        return self._logs("", *self._run_split(split, 0, self._test_step))

    def fit(self, epochs, initial_epoch=0, callbacks=(), verbose=1, steps=None):
        """Trains from initial_epoch to epochs, driving callbacks as `model.fit` does.

        Args:
            epochs: The epoch to stop at (as `fit`'s `epochs`).
            initial_epoch: Epochs done before.
            callbacks: Keras callbacks.
            verbose: 1 progress bar, 2 one line per epoch, 0 silent.
            steps: Global batches per epoch, for the progress bar.
        """
        callbacks = keras.callbacks.CallbackList(list(callbacks), add_history=True, add_progbar=verbose != 0,
                                                 model=self.model, verbose=verbose, epochs=epochs, steps=steps)
        self.model.stop_training = False
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            logs = self._logs("", *self._run_split("train", epoch, self._train_step, callbacks.on_train_batch_end))
            callbacks.on_test_begin()
            validation = self._logs("val_", *self._run_split("valid", 0, self._test_step))
            callbacks.on_test_end(validation)
            logs.update(validation)
            callbacks.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                break
        callbacks.on_train_end(logs if epochs > initial_epoch else None)
