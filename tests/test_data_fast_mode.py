"""EDU_CNN_FAST=1 (the notebooks' short setting) always gives the shipped sample."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from edu_cnn.data import SampleDataWarning, load_fashion_mnist, load_mnist


@pytest.mark.parametrize("loader, n_train", [(load_mnist, 4000), (load_fashion_mnist, 1600)])
def test_fast_mode_uses_the_sample_whatever_the_cache_holds(loader, n_train, monkeypatch, tmp_path):
    monkeypatch.setenv("EDU_CNN_FAST", "1")
    monkeypatch.setenv("EDU_CNN_DATA", str(tmp_path))
    with pytest.warns(SampleDataWarning, match="EDU_CNN_FAST=1 asks for the short setting"):
        data = loader(as_float=True)
    assert data.source == "sample" and data.x_train.shape == (n_train, 1, 28, 28)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() < data.x_train.max() <= 1
    assert sorted(np.unique(data.y_train)) == list(range(10))


def test_sample_false_overrides_fast_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("EDU_CNN_FAST", "1")
    monkeypatch.setenv("EDU_CNN_OFFLINE", "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_mnist(sample=False, data_dir=tmp_path)
    # offline with an empty cache still ends at the sample, but for the offline reason
    assert data.source == "sample"
    assert "EDU_CNN_OFFLINE=1 forbids downloads" in str(caught[-1].message)
