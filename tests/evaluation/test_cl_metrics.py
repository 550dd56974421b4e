import math

import numpy as np
import pandas as pd
import pytest

from benchmark.evaluation import cl_metrics as clm

# Accuracy (higher is better). Rows: after experience 0, 1, 2; columns: task 0, 1, 2.
ACC_R = [[0.80, 0.10, 0.20],
         [0.60, 0.90, 0.30],
         [0.50, 0.70, 0.95]]

# WER in % (lower is better).
WER_R = [[20.0, 90.0, 95.0],
         [25.0, 15.0, 92.0],
         [30.0, 18.0, 10.0]]


def test_accuracy_matrix_hand_computed():
    s = clm.cl_summary(ACC_R, higher_is_better=True, baseline=[0.10, 0.05, 0.10],
                       joint=[0.85, 0.90, 0.90])
    # ACC = (0.50 + 0.70 + 0.95) / 3 = 2.15 / 3
    assert s["acc"] == pytest.approx(2.15 / 3)
    # BWT = ((0.50 - 0.80) + (0.70 - 0.90)) / 2 = (-0.30 - 0.20) / 2 = -0.25
    assert s["bwt"] == pytest.approx(-0.25)
    # FWT = ((R[0][1] - b1) + (R[1][2] - b2)) / 2 = ((0.10 - 0.05) + (0.30 - 0.10)) / 2 = 0.125
    assert s["fwt"] == pytest.approx(0.125)
    # f0 = max(0.80, 0.60) - 0.50 = 0.30; f1 = 0.90 - 0.70 = 0.20; mean = 0.25
    assert s["forgetting_per_task"] == {"0": pytest.approx(0.30), "1": pytest.approx(0.20),
                                        "2": None}
    assert s["forgetting"] == pytest.approx(0.25)
    # I = [0.85 - 0.80, 0.90 - 0.90, 0.90 - 0.95] = [0.05, 0, -0.05]; mean 0
    assert s["intransigence"] == pytest.approx(0.0)
    assert s["intransigence_per_task"]["0"] == pytest.approx(0.05)
    # plasticity = diagonal [0.80, 0.90, 0.95], mean 2.65 / 3
    assert s["plasticity"] == pytest.approx(2.65 / 3)
    assert s["learned_at"] == {"0": 0, "1": 1, "2": 2}


def test_wer_matrix_lower_is_better():
    s = clm.cl_summary(WER_R, higher_is_better=False, baseline=[100.0, 100.0, 100.0],
                       joint=[18.0, 14.0, 10.0])
    # ACC is the mean final WER, in WER units: (30 + 18 + 10) / 3 = 58 / 3
    assert s["acc"] == pytest.approx(58 / 3)
    # goodness g = -WER. BWT = ((-30 + 20) + (-18 + 15)) / 2 = (-10 - 3) / 2 = -6.5
    # i.e. WER rose by 6.5 points on average: negative = forgetting, as for accuracy.
    assert s["bwt"] == pytest.approx(-6.5)
    # f0 = max(-20, -25) - (-30) = 10; f1 = -15 - (-18) = 3; mean 6.5 (WER points worse)
    assert s["forgetting"] == pytest.approx(6.5)
    # FWT = ((-90 + 100) + (-92 + 100)) / 2 = (10 + 8) / 2 = 9 (better than the untrained model)
    assert s["fwt"] == pytest.approx(9.0)
    # I = [-18 + 20, -14 + 15, -10 + 10] = [2, 1, 0]; mean 1 (WER points worse than joint)
    assert s["intransigence"] == pytest.approx(1.0)
    assert s["plasticity_per_task"] == {"0": 20.0, "1": 15.0, "2": 10.0}


def test_fwt_none_without_baseline_and_checks_length():
    assert clm.fwt(ACC_R, None) is None
    assert clm.cl_summary(ACC_R)["fwt"] is None
    with pytest.raises(ValueError, match="baseline"):
        clm.fwt(ACC_R, [0.1, 0.1])


def test_max_forgetting_differs_from_first_minus_last():
    # Task 0 improves after experience 1 (0.5 -> 0.9), then drops to 0.6.
    R = [[0.5, 0.0, 0.0],
         [0.9, 0.8, 0.0],
         [0.6, 0.7, 0.9]]
    f = clm.forgetting_per_task(R)
    # max-based (Chaudhry): 0.9 - 0.6 = 0.3
    assert f[0] == pytest.approx(0.3)
    # Avalanche's first-minus-last = -(BWT of the task) = 0.5 - 0.6 = -0.1
    assert -clm.bwt_per_task(R)[0] == pytest.approx(-0.1)
    # task 1: max(0.8) - 0.7 = 0.1 both ways
    assert f[1] == pytest.approx(0.1)


def test_adaptation_stream_with_train_exp_of_task():
    # exp 0 trains er+ic+asr, exp 1 new asr data, exp 2 new ic data. Columns: er, ic, asr.
    learned = clm.learned_at_from_stream([{"er", "ic", "asr"}, {"asr"}, {"ic"}],
                                         ["er", "ic", "asr"])
    assert learned == [0, 2, 1]
    assert clm.learned_at_from_stream([{"er", "ic", "asr"}, {"asr"}, {"ic"}],
                                      ["er", "ic", "asr", "ner"], which="first") == [0, 0, 0, None]
    R = pd.DataFrame([[0.70, 0.80, 0.60],
                      [0.68, 0.75, 0.75],
                      [0.65, 0.90, 0.72]], columns=["er", "ic", "asr"])
    s = clm.cl_summary(R, train_exp_of_task=learned, baseline=[0.25, 0.10, 0.0])
    # BWT: er 0.65 - 0.70 = -0.05; asr 0.72 - 0.75 = -0.03; ic learned in the last exp: excluded
    assert s["bwt"] == pytest.approx(-0.04)
    assert s["bwt_per_task"]["ic"] is None
    # forgetting: er max(0.70, 0.68) - 0.65 = 0.05; asr max(0.75) - 0.72 = 0.03 -> 0.04
    assert s["forgetting_per_task"]["er"] == pytest.approx(0.05)
    assert s["forgetting_per_task"]["asr"] == pytest.approx(0.03)
    assert s["forgetting"] == pytest.approx(0.04)
    # plasticity: R[0][er], R[2][ic], R[1][asr]
    assert s["plasticity_per_task"] == {"er": 0.70, "ic": 0.90, "asr": 0.75}
    # FWT: ic: R[1][ic] - 0.10 = 0.65; asr: R[0][asr] - 0.0 = 0.60; er (lj = 0) excluded
    assert s["fwt"] == pytest.approx(0.625)
    # ACC = (0.65 + 0.90 + 0.72) / 3
    assert s["acc"] == pytest.approx(2.27 / 3)


def test_never_trained_column_excluded():
    R = [[0.9, 0.2], [0.8, 0.3]]
    s = clm.cl_summary(R, train_exp_of_task=[0, None])
    assert s["acc"] == pytest.approx(0.8)
    assert s["bwt"] == pytest.approx(-0.1)
    assert s["forgetting_per_task"]["1"] is None and s["plasticity_per_task"]["1"] is None


def test_nan_cells_are_skipped():
    R = np.array(ACC_R)
    R[1, 0] = np.nan  # not evaluated: f0 = max(0.80) - 0.50 = 0.30, unchanged
    assert clm.forgetting_per_task(R)[0] == pytest.approx(0.30)
    R[2, 1] = np.nan  # final score of task 1 missing: left out of ACC, BWT and forgetting
    s = clm.cl_summary(R)
    assert s["acc"] == pytest.approx((0.50 + 0.95) / 2)
    assert s["bwt"] == pytest.approx(-0.30)
    assert s["forgetting"] == pytest.approx(0.30)
    assert s["bwt_per_task"]["1"] is None
    assert not any(isinstance(v, float) and math.isnan(v) for v in s.values())


def test_single_experience_and_shape_errors():
    s = clm.cl_summary([[0.7]])
    assert s["acc"] == pytest.approx(0.7) and s["bwt"] is None and s["forgetting"] is None
    with pytest.raises(ValueError, match="train_exp_of_task"):
        clm.cl_summary([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    with pytest.raises(ValueError, match="joint"):
        clm.intransigence_per_task(ACC_R, [0.1])


def test_joint_matrix_form():
    # joint matrix: R*_k = joint[k][k] here (learned_at = k)
    J = np.full((3, 3), np.nan)
    np.fill_diagonal(J, [0.85, 0.90, 0.90])
    assert clm.intransigence_per_task(ACC_R, J) == pytest.approx([0.05, 0.0, -0.05])


def test_conventions_text_mentions_every_metric():
    for word in ("ACC", "BWT", "FWT", "forgetting", "intransigence", "plasticity", "WER"):
        assert word in clm.CONVENTIONS


def test_task_trained_twice_bwt_from_last_fwt_from_first():
    # er is trained in experiences 0 and 2, ic in 1 (a user stream repeating a source)
    R = [[80, 10], [60, 70], [85, 50]]
    exps = [{"er"}, {"ic"}, {"er"}]
    last = clm.learned_at_from_stream(exps, ["er", "ic"], "last")
    first = clm.learned_at_from_stream(exps, ["er", "ic"], "first")
    assert (last, first) == ([2, 1], [0, 1])
    s = clm.cl_summary(R, train_exp_of_task=last, first_train_exp_of_task=first,
                       baseline=[10, 10], task_names=["er", "ic"])
    assert s["bwt"] == pytest.approx(50 - 70)  # only ic was learned before the last row
    # FWT: ic before its first training (10) minus the untrained 10; er's own earlier
    # training is not transfer, so it does not count
    assert s["fwt"] == pytest.approx(0.0)
    assert clm.cl_summary(R, train_exp_of_task=last, baseline=[10, 10])["fwt"] == \
        pytest.approx(((60 - 10) + (10 - 10)) / 2)  # what using `last` for FWT would report
