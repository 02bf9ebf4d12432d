"""Names of the sync's trigger-form params that the rules read, in a module light enough for DAG parsing."""

# Apply every change of this run now: learning-phase protection is ignored (closrads.core.learning_phase).
FORCE_PARAM = "ignore_learning_phase"
