"""The identity guard after anonymizing: faces still recognisable are redone, then flagged.

The guard is a step of its own above the anonymization stage (``ldfa.guard_identity``); the
command line's ``--identity-guard N`` runs it right after anonymizing, and the SDK's
``anonymize_faces(identity_guard=N)`` still does, with a DeprecationWarning, until 0.3.
"""

import pytest

import ldfa
from ldfa.cli import main as cli
from ldfa.plugin.runs import run_results

# A blur this weak leaves the person recognisable; a new seed cannot change a blur, so the
# guard's retry fails too and every face must end up tagged for review.
WEAK_BLUR = {"method": "gauss", "blur_sigma_frac": 0.005, "blur_sigma_min_px": 0}


@pytest.fixture
def detected(fo, dataset, sample_photos):
    dataset.add_samples([fo.Sample(filepath=str(p)) for p in sample_photos])
    ldfa.detect_faces(dataset, progress=False)
    return dataset


def assert_guarded(dataset, guard):
    assert guard["checked"] == 2 and guard["redone"] == 2 and len(guard["needs_review"]) == 2
    faces = dataset.values("faces.detections", unwind=True)
    assert all("needs_review" in face.tags for face in faces)
    assert all(face["anon_gauss_attempt"] == 1 for face in faces)


def test_the_deprecated_identity_guard_argument_still_guards_and_names_its_successor(detected, tmp_path):
    with pytest.warns(DeprecationWarning, match=r"call ldfa\.guard_identity\(collection, field, "
                      r"max_tries=1\) after it \(identity_guard goes in 0\.3\)") as caught:
        summary = ldfa.anonymize_faces(detected, output_dir=tmp_path / "weak", identity_guard=1,
                                       progress=False, **WEAK_BLUR)
    [ours] = [w for w in caught if "identity_guard" in str(w.message)]
    assert ours.filename == __file__  # shown where the old call is written, past ldfa's wrappers
    assert_guarded(detected, summary.identity_guard)
    recorded = run_results(detected, "ldfa_anonymize_anon_gauss")["summary"]
    assert recorded["identity_guard"] == summary.identity_guard


@pytest.mark.slow
def test_ldfa_anonymize_identity_guard_anonymizes_then_guards(detected, tmp_path, capsys):
    detected.persistent = True  # the command opens it by name
    assert cli(["anonymize", "--dataset", detected.name, "--method", "gauss", "--blur-sigma-frac",
                "0.005", "--blur-sigma-min-px", "0", "--output-dir", str(tmp_path / "weak"),
                "--identity-guard", "1"]) == 0
    said = capsys.readouterr().out
    assert "identity guard: 2 re-anonymizations; 2 of 2 faces still recognisable, tagged needs_review" in said
    assert_guarded(detected, run_results(detected, "ldfa_anonymize_anon_gauss")["summary"]["identity_guard"])
