"""Backtests on real public data the models did not see, next to careful hand-made baselines.

    .venv/bin/python bench/models_backtest.py

* IBM Telco churn (tests/data/telco_churn_train.csv.gz, 4,930 customers; the package's "test"
  file only repeats customers of this one): a stratified random 30 % is held out (seed 0) — a
  snapshot has no dates to split on. Ours: the customers-table path
  (attributes parsed as JourneyLens does, LightGBM + Platt). Baseline, made by hand: one-hot
  encoding of every category, standardised numbers, scikit-learn ``LogisticRegression`` with
  its regularisation chosen by 5-fold cross-validation — the usual strong baseline on this set.
* CDNOW (tests/data/cdnow_sample.txt.gz): purchases before 1997-10-01 seen, the next 273 days
  scored. Ours: ``predict_purchases`` (BG/NBD). Baseline: each customer's past repeat-purchase
  rate × horizon.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import journeylens
from journeylens.models import evaluation
from journeylens.models.classifier import CalibratedClassifier
from journeylens.models.features import attribute_frame
from journeylens.settings import Settings

DATA = Path(__file__).parents[1] / "tests" / "data"


def telco() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def load(name: str) -> pd.DataFrame:
        return pd.read_csv(DATA / name).rename(columns={"customerid": "customer_id", "churn": "churned"})

    from sklearn.model_selection import train_test_split

    data = load("telco_churn_train.csv.gz")
    train, test = train_test_split(data, test_size=0.3, random_state=0, stratify=data["churned"])
    y_train, y_test = (train["churned"] == "Yes").to_numpy(), (test["churned"] == "Yes").to_numpy()
    both = attribute_frame(pd.concat([train, test]).drop(columns="churned"))
    X_train, X_test = both.loc[train["customer_id"]], both.loc[test["customer_id"]]
    ours = CalibratedClassifier().fit(X_train, y_train)
    rows = [("JourneyLens (" + ours.algorithm_ + " + Platt)", evaluation.scores(y_test, ours.predict_proba(X_test)[:, 1]))]
    numeric = ["tenure", "monthlycharges", "totalcharges", "seniorcitizen"]
    cats = [c for c in train.columns if c not in (*numeric, "customer_id", "churned")]

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out["totalcharges"] = pd.to_numeric(out["totalcharges"], errors="coerce").fillna(0)
        return out

    hand = make_pipeline(ColumnTransformer([("num", StandardScaler(), numeric),
                                            ("cat", OneHotEncoder(handle_unknown="ignore"), cats)]),
                         LogisticRegressionCV(Cs=10, cv=5, max_iter=5000, scoring="neg_log_loss"))
    hand.fit(prepare(train), y_train)
    rows.append(("by hand: one-hot + logistic regression (CV)", evaluation.scores(y_test, hand.predict_proba(prepare(test))[:, 1])))
    sys.stdout.write(f"IBM Telco churn: train {len(train):,}, held-out test {len(test):,} customers\n")
    sys.stdout.write(f"{'model':<46} {'ROC AUC':>8} {'PR AUC':>7} {'Brier':>7} {'top-10% lift':>12}\n")
    for name, s in rows:
        sys.stdout.write(f"{name:<46} {s['roc_auc']:>8.3f} {s['pr_auc']:>7.3f} {s['brier']:>7.4f} {s['top_decile_lift']:>12.2f}\n")


def cdnow() -> None:
    raw = pd.read_csv(DATA / "cdnow_sample.txt.gz", sep=r"\s+", header=None,
                      names=["id", "id2", "date", "qty", "amount"], dtype={"id": str, "date": str})
    events = pd.DataFrame({"customer_id": raw["id"], "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d", utc=True),
                           "touchpoint": "purchase", "amount": raw["amount"]})
    with tempfile.TemporaryDirectory() as root:
        path = f"{root}/cdnow.duckdb"
        lens = journeylens.open(path, settings=Settings(warehouse=path))
        lens.ingest("events", events)
        result = lens.predict_purchases("purchase", value_property="amount", as_of=datetime(1997, 10, 1, tzinfo=UTC),
                                        horizon_days=273, backtest=True).to_dict()
        lens.warehouse.close()
    sys.stdout.write(f"\nCDNOW: {result['customers']:,} customers, purchases before 1997-10-01 seen, 273 days scored "
                     f"(actual {result['actual_total']:.0f} purchase days)\n")
    sys.stdout.write(f"{'model':<46} {'MAE':>8} {'RMSE':>7} {'total':>8} {'corr':>6}\n")
    for name, s in (("JourneyLens BG/NBD", result["model"]), ("past repeat rate × horizon", result["baseline_scores"])):
        sys.stdout.write(f"{name:<46} {s['mae']:>8.3f} {s['rmse']:>7.3f} {s['total_predicted']:>8.0f} {s['correlation']:>6.3f}\n")


if __name__ == "__main__":
    telco()
    cdnow()
