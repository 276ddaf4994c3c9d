"""Seeing the memory: gate reports over real text, the long-memory problems and the vanishing gradient measured.

- `traces`: every gate of every recurrent layer of a trained run over a text, as arrays (the Python API).
- `report` and `page`: the self-contained HTML page of a trace; `figures`: its matplotlib figures.
- `tasks`: the adding and copy problems of Arjovsky, Shah & Bengio 2016, for any textlstm cell.
- `gradient_flow`: ‖∂L_T/∂h_t‖ against T − t, at initialization and after training.
- `commands`: the CLI verbs `inspect`, `memory-task` and `gradient-flow`.
"""
