"""tfbert: the whole BERT life cycle for TensorFlow and Keras 3."""
from setuptools import find_packages, setup

setup(
    name="tfbert",
    version="0.1.0",
    description="BERT for TensorFlow: Keras 3 layers, in-graph WordPiece, tf.data MLM, "
    "tf.distribute training and raw-string SavedModels for TF Serving.",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["tfbert", "tfbert.*"]),
    install_requires=[
        "tensorflow==2.20.*",
        "tensorflow-text==2.20.1",
        "keras>=3.15,<4",
        "tensorflow-serving-api==2.20.*",
        "grpcio",
        "safetensors",
        "jieba==0.42.1",
    ],
    extras_require={
        # References used by the parity tests and the benchmarks, never at run time.
        "test": [
            "keras-nlp==0.32.0",
            "tf-models-official==2.20.0",
            "torch==2.13.0",
            "transformers>=4.40",
            "sentence-transformers>=6.0",
            "huggingface_hub",
            "pytest",
            "seqeval",
            "scikit-learn",
            "scipy",
            "snownlp==0.12.3",
        ],
    },
    entry_points={"console_scripts": ["tfbert=tfbert.cli:main"]},
)
