"""A short quiz per chapter, with its key: three multiple-choice questions on the chapter's ideas.

Each chapter shows its quiz (``markdown``, as the cell ``section`` writes) before its exercises; a
student checks the answers with ``check(label, {1: "b", 2: "a", 3: "c"})``, which says how many are
right and which to revisit, never the key. The key, with a one-line reason per answer, is
``QUIZZES`` itself and the instructor guide's table (``key_table``).
"""
from __future__ import annotations

from dataclasses import dataclass

from tutorial_lib.lab.gradebook import log_verdict


@dataclass(frozen=True)
class Question:
    """One question: its text, its options (labelled a, b, c, ... in order), the right option's
    letter and the reason it is right."""

    text: str
    options: tuple[str, ...]
    answer: str
    why: str

    def __post_init__(self) -> None:
        if self.answer not in LETTERS[:len(self.options)]:
            raise ValueError(f"answer {self.answer!r} is not one of the options {LETTERS[:len(self.options)]}")


LETTERS = "abcdef"

QUIZZES: dict[str, tuple[Question, ...]] = {
    "intro-quiz": (
        Question("One step of ℓ∞ PGD moves every pixel by",
                 ("α times the gradient", "ε times the sign of the gradient", "α times the sign of the gradient, "
                  "before projecting and clipping"), "c",
                 "the steepest ℓ∞ ascent step of size α is α·sign(∇); the projection and the clip come after it"),
        Question("Why does PGD clip to [0, 1] after projecting into the ε-ball?",
                 ("so that the adversarial example is still an image; both sets are per-pixel intervals, "
                  "so it stays in the ball too", "to make the attack stronger", "to make it converge faster"), "a",
                 "the box and the ℓ∞ ball are both per-pixel intervals: clipping after projecting lands in both"),
        Question("A robust accuracy on its own means little unless it also names",
                 ("the training seed", "the attack and its budget (ε, norm, steps, restarts)", "the GPU it ran on"),
                 "b", "a robust number is an attack's result: a weaker attack gives a higher number"),
    ),
    "toy-quiz": (
        Question("In the paper's toy distribution, what can an ℓ∞ adversary with ε = 2η do?",
                 ("flip the robust feature x1", "move each weak feature's mean from ηy to −ηy, so they point to "
                  "the wrong class", "nothing: the weak features are too many"), "b",
                 "each weak feature is N(ηy, 1); shifting it by 2η against y mirrors its mean"),
        Question("Theorem 2.1 with p = 0.95, against ε ≥ 2η: a classifier with 99% standard accuracy keeps robust "
                 "accuracy of at most",
                 ("95%", "1%", "19%"), "c", "p/(1 − p)·δ = 19 × 1% = 19%"),
        Question("Which classifiers come within a point of Theorem 2.1's bound all along the tradeoff?",
                 ("random mixtures of the robust-feature and Bayes-optimal classifiers",
                  "every linear classifier of the symmetric family", "the standard soft-margin SVM"), "a",
                 "a coin flip between the two extremes mixes their accuracies linearly; the line joining (p, p) "
                 "and the Bayes-optimal point, about (1, 0), lies on the bound"),
    ),
    "attacks-quiz": (
        Question("For a linear score wᵀx, the worst ℓ∞ perturbation of size ε (ignoring the [0, 1] pixel box) "
                 "lowers the margin by",
                 ("ε‖w‖₂", "ε‖w‖₁", "ε‖w‖∞"), "b", "δ = −εy·sign(w) attains Hölder's bound ε‖w‖₁"),
        Question("The ℓ2 PGD step moves along",
                 ("the gradient divided by its ℓ2 norm", "the sign of the gradient", "the largest gradient coordinate only"),
                 "a", "the steepest ℓ2 ascent direction of a given length is the normalised gradient"),
        Question("A targeted attack towards class t",
                 ("raises the loss of the true class", "maximises the distance to the image",
                  "descends the loss of class t"), "c",
                 "the library flips the sign of α: PGD descends the loss of the target"),
    ),
    "eval-quiz": (
        Question("A robust accuracy measured under any attack is, for the model's true robust accuracy,",
                 ("a lower bound", "an upper bound", "exact once the attack has converged"), "b",
                 "an image the attack fails on may still have an adversarial example it did not find; convergence "
                 "only says that more of this attack no longer lowers the number"),
        Question("Which sign points to gradient masking?",
                 ("clean accuracy drops", "PGD's loss rises fast", "a gradient-free attack (Square) breaks images "
                  "the gradient attacks left, beyond noise"), "c",
                 "if the gradients were informative, the gradient attacks would have found those images first"),
        Question("When does the course call a robust number converged?",
                 ("when Square Attack run again at twice the queries breaks no more images than the noise allows",
                  "when two seeds agree", "when PGD's step size is small enough"), "a",
                 "a number that a bigger budget no longer lowers beyond noise is as low as this attack can take it"),
    ),
    "train-quiz": (
        Question("By Danskin's theorem, each adversarial-training step takes the gradient of the loss",
                 ("at the clean image", "at the attack's answer x + δ*", "averaged over the ε-ball"), "b",
                 "the gradient of a max is the gradient at the maximiser (approximately, for deep networks)"),
        Question("Catastrophic overfitting is",
                 ("robust accuracy under PGD falling suddenly to near zero after the model had become robust",
                  "clean accuracy falling during training", "memorising the training images"), "a",
                 "PGD-2 with large steps: 78% under the PGD check after epoch 2, 0.4% after epoch 3; "
                 "only a PGD check sees it"),
        Question("Chapter 5 compares the wide recipe with the flagship only on test images 3,000–8,999. Why?",
                 ("they are the hardest images", "to save attack time",
                  "the recipe search used the other test images to choose"), "c",
                 "numbers measured on the images that steered a choice are optimistic (the winner's curse)"),
    ),
    "cert-quiz": (
        Question("An image counts as certified at ε when",
                 ("PGD-50 fails to change its class", "a bound proves that every image in its ε-ball is "
                  "classified correctly", "its clean margin is larger than ε"), "b",
                 "a certificate is a proof about the whole ball; an attack only tries some of its points"),
        Question("Certified accuracy, the true robust accuracy and accuracy under an attack are ordered",
                 ("certified ≤ true ≤ under attack", "under attack ≤ true ≤ certified", "they are equal once "
                  "the attack has converged"), "a",
                 "a certificate can miss robust images (a lower bound); an attack can miss adversarial ones (an upper bound)"),
        Question("Interval bounds certify almost nothing on the PGD-trained model because",
                 ("it is not robust", "the boxes widen layer by layer: each box is the worst case of every "
                  "unit at once, which no single input attains", "PGD training uses the ℓ2 norm"), "b",
                 "attacks fail on that model, but its intervals grow too wide to prove it; IBP training keeps them narrow"),
    ),
    "tradeoff-quiz": (
        Question("A 95% interval for a mean of three seeds uses",
                 ("the normal quantile, 1.96", "Student's t with 2 degrees of freedom, 4.30",
                  "no quantile: three seeds are exact"), "b",
                 "the standard deviation is itself estimated from three values"),
        Question("An operating point is chosen on",
                 ("validation images, then reported once on test images", "the test images it is reported on",
                  "the training images"), "a", "choosing on the reported images makes the reported number optimistic"),
        Question("With 600 MNIST training images (Figure 1), adversarial training",
                 ("lowered standard accuracy below standard training's", "raised standard accuracy above "
                  "standard training's", "left standard accuracy unchanged"), "b",
                 "with little data the attacked copies act as data augmentation (the paper's Figure 1)"),
    ),
    "see-quiz": (
        Question("The stroke fraction of a gradient measures",
                 ("the cosine with the class contrast", "the model's robust accuracy",
                  "the share of the gradient's energy on or next to the digit's strokes"), "c",
                 "it asks where the model looks, not what it proposes"),
        Question("Why are the ℓ∞-trained models' input gradients zero off the strokes?",
                 ("their first layer thresholds faint pixels away", "the clip to [0, 1] removes them",
                  "softmax saturates"), "a",
                 "ℓ∞ training makes the first convolution a thresholding filter bank: faint inputs never pass "
                 "its ReLU, so their gradient is zero"),
        Question("A head trained by ordinary training on frozen ℓ∞ 0.3 features",
                 ("is more accurate on clean images than one on standard features", "inherits much of the "
                  "features' robustness", "has no robustness at all"), "b",
                 "the robustness lives in the features; the head only reads them"),
    ),
    "gen-quiz": (
        Question("Generating an image with a robust classifier is",
                 ("a targeted PGD attack with a large budget, started from a seed image",
                  "training a generative network", "gradient descent on the classifier's weights"), "a",
                 "the same pgd loop as the attacks, aimed at a class"),
        Question("Why is a standard network a poor judge of whether an image looks like its target?",
                 ("it is too slow", "adversarial perturbations transfer between standard networks",
                  "it was trained on other data"), "b",
                 "a perturbation that fools one standard model often fools another, without looking like the target"),
        Question("PGD barely moves the ℓ∞-robust model towards a target under ℓ2. What does that show?",
                 ("the model is certified robust", "nothing yet: an attack failure is not a finding until "
                  "stronger attacks (Square, noise-averaged gradients) are tried", "ℓ2 attacks do not work on MNIST"),
                 "b", "Square Attack and PGD on the noise-averaged model move it to the target for 99–100% of the "
                 "images at ℓ2 ε = 8, though not by drawing the target"),
    ),
}
"""Each chapter's quiz, by label (a test checks that each chapter shows its quiz)."""


def markdown(label: str) -> str:
    """The quiz as a chapter shows it: numbered questions, lettered options."""
    lines = []
    for i, q in enumerate(_quiz(label), 1):
        lines.append(f"{i}. {q.text}")
        lines += [f"   - ({letter}) {option}" for letter, option in zip(LETTERS, q.options)]
    return "\n".join(lines)


CHAPTER_QUIZ = {"01": "intro-quiz", "02": "toy-quiz", "03": "attacks-quiz", "04": "eval-quiz",
                "05": "train-quiz", "06": "cert-quiz", "07": "tradeoff-quiz", "08": "see-quiz", "09": "gen-quiz"}
"""Which quiz each chapter (by its number) shows."""


def section(label: str) -> str:
    """The chapter's *Quick check* cell: the quiz and how to check it."""
    return (f"## Quick check\n\n{markdown(label)}\n\nCheck your answers (it names the questions to revisit, never "
            f"the key):\n`from tutorial_lib.lab.quiz import check; check(\"{label}\", {{1: \"?\", 2: \"?\", 3: \"?\"}})`"
            " with your letters.\n")


def _quiz(label: str) -> tuple[Question, ...]:
    """The quiz called ``label``, or a KeyError that lists them."""
    if label not in QUIZZES:
        raise KeyError(f"no quiz {label!r}; quizzes: {sorted(QUIZZES)}")
    return QUIZZES[label]


def check(label: str, answers: dict[int, str]) -> bool:
    """Print how many answers are right and which questions to revisit; return whether all are."""
    quiz = _quiz(label)
    missing = [i for i in range(1, len(quiz) + 1) if i not in answers]
    if missing:
        print(f"✘ {label}: give an answer (a letter) for question(s) {missing}")
        log_verdict("quiz", label, False, f"unanswered: {missing}")
        return False
    wrong = [i for i, q in enumerate(quiz, 1) if str(answers[i]).strip().lower().strip("()") != q.answer]
    print(f"✔ {label}: all {len(quiz)} right" if not wrong else
          f"✘ {label}: {len(quiz) - len(wrong)} of {len(quiz)} right; revisit question(s) {wrong}")
    log_verdict("quiz", label, not wrong, f"{len(quiz) - len(wrong)} of {len(quiz)} right")
    return not wrong


def key_table() -> str:
    """The instructor guide's answer key: every quiz's answers with their reasons."""
    lines = ["| quiz | question | answer | why |", "|---|---:|---|---|"]
    for label, quiz in QUIZZES.items():
        lines += [f"| `{label}` | {i} | ({q.answer}) | {q.why} |" for i, q in enumerate(quiz, 1)]
    return "\n".join(lines)
