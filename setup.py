"""fewlabels: a TFX pipeline that trains an image classifier from few labels plus an unlabeled pool."""
import setuptools

setuptools.setup(
    name="fewlabels",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.10,<3.11",
    packages=setuptools.find_packages(include=["pipeline", "pipeline.*", "components",
                                               "components.*", "models", "models.*",
                                               "sources", "sources.*"]),
    # Exact versions live in requirements.lock; these are the direct needs.
    install_requires=[
        "tfx[kfp]==1.16.0",
        "apache-beam[gcp]==2.61.0",
        "tensorflow-datasets",
        "matplotlib",
        "pillow",
    ],
    entry_points={"console_scripts": ["fewlabels=pipeline.cli:main"]},
)
