"""Raw-string SavedModels for TF Serving: export, validation, and loading as TF Serving does.

`export_model(model_dir, task, "saved_models/NAME/VERSION")` writes a SavedModel whose
signatures take plain text (`serving_default` on `text`, `text_pair` on `text_a`/`text_b` where
pairs make sense, `preprocess`), after checking it the way TF Serving would load it.
"""
from tfbert.export.exporter import export_model
from tfbert.export.session_model import SessionModel, SignatureNotFoundError
from tfbert.export.tasks import TASKS

__all__ = ["TASKS", "SessionModel", "SignatureNotFoundError", "export_model"]
