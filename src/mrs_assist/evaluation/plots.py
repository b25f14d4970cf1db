"""Report figures (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path


def _plt():
    try:
        import matplotlib
    except ModuleNotFoundError:
        from mrs_assist.errors import ConfigError

        raise ConfigError("the evaluation report's plots need matplotlib: pip install 'mrs-assist[eval]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(labels: list[str], matrix: list[list[int]], path: Path, title: str) -> Path:
    """Gold × predicted counts as a heat map; returns path."""
    plt = _plt()
    keep = [i for i, label in enumerate(labels) if label != "error" or any(row[i] for row in matrix) or any(matrix[i])]
    labels = [labels[i] for i in keep]
    matrix = [[matrix[r][c] for c in keep] for r in keep]
    short = [label.replace("_criteria", "").replace("_information", "_info").replace("_", " ") for label in labels]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(short)), short, rotation=30, ha="right")
    ax.set_yticks(range(len(short)), short)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    top = max((v for row in matrix for v in row), default=0)
    for r, row in enumerate(matrix):
        for c, v in enumerate(row):
            ax.text(c, r, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_recall_curves(curves: dict[str, dict[int, float]], path: Path) -> Path:
    """recall@k against k, one line per retriever; returns path."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, points in curves.items():
        ks = sorted(points)
        ax.plot(ks, [points[k] for k in ks], marker="o", label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("mean recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(sorted({k for p in curves.values() for k in p}))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Retrieval recall@k (questions with gold clauses)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(stages: dict[str, dict], path: Path) -> Path:
    """Median and p95 per stage (log scale); returns path."""
    plt = _plt()
    names = [n for n, s in stages.items() if s.get("n")]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [stages[n]["median_ms"] for n in names], width=0.4, label="median")
    ax.bar([x + 0.2 for x in xs], [stages[n]["p95_ms"] for n in names], width=0.4, label="p95")
    ax.set_xticks(list(xs), names)
    ax.set_yscale("log")
    ax.set_ylabel("ms")
    ax.legend()
    ax.set_title("Latency per stage (in-process, warm)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
