"""nn.training: ``fit``/``evaluate``/``predict`` with Keras-style ``History`` and callbacks,
checkpoints that resume exactly, metrics, and the lectures' sanity checks.
``python -m nn.training`` is the main job (train, plot, checkpoint, verify)."""
from .callbacks import Callback, CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint, TensorBoardLogger
from .checkpoint import load_checkpoint, save_checkpoint
from .history import History
from .loop import evaluate, fit, predict
from .metrics import accuracy, top_k_accuracy
from .sanity import check_initial_loss, overfit_one_batch

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping", "ModelCheckpoint",
           "CSVLogger", "LambdaCallback", "TensorBoardLogger", "save_checkpoint", "load_checkpoint",
           "accuracy", "top_k_accuracy", "check_initial_loss", "overfit_one_batch"]
