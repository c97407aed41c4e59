"""python -m viz FILE.py:build --input-shape ... -o graph.svg"""
import textwrap

from viz.__main__ import main


def test_cli_writes_forward_and_backward(tmp_path, capsys):
    model_file = tmp_path / "mymodel.py"
    model_file.write_text(textwrap.dedent("""
        import nn
        def build():
            return nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2))
    """))
    out = tmp_path / "graph.dot"
    assert main([f"{model_file}:build", "--input-shape", "3,6", "-o", str(out)]) == 0
    fwd, back = tmp_path / "graph.forward.dot", tmp_path / "graph.backward.dot"
    assert "Linear" in fwd.read_text() and "LinearBackward" in back.read_text()
    assert "0.weight" in back.read_text() and "cluster_0" in back.read_text()
    assert "(3, 6)" in fwd.read_text()                      # the input, drawn before backward
    main([f"{model_file}:build", "--input-shape", "3,6", "-o", str(out), "--direction", "backward"])
    assert out.exists()
