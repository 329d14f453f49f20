"""A `helm template` command built on Helm v4 itself (PyPI `helm-python-sdk`: Helm's Go SDK as a
library, rendering offline). The tests put a `helm` wrapper running this script on PATH so that
`rampart scan` renders charts with real Helm; the output is laid out as `helm template` lays it
out: one `---` and `# Source: <chart>/templates/<file>` per rendered template, NOTES.txt and
empty renders left out.

Usage: helm template [NAME] CHART [--namespace NS | -n NS]
"""
import sys

import helm_python as helm


def main(argv):
    if not argv or argv[0] != "template":
        print("this test helm only implements `helm template`", file=sys.stderr)
        return 2
    positional, namespace = [], "default"
    args = iter(argv[1:])
    for a in args:
        if a in ("--namespace", "-n"):
            namespace = next(args)
        elif a.startswith("--namespace="):
            namespace = a.split("=", 1)[1]
        elif a.startswith("-"):
            print(f"unsupported flag {a}", file=sys.stderr)
            return 2
        else:
            positional.append(a)
    if len(positional) == 1:
        name, chart = "release-name", positional[0]
    elif len(positional) == 2:
        name, chart = positional
    else:
        print("expected [NAME] CHART", file=sys.stderr)
        return 2
    try:
        with helm.Chart.load(chart) as c:
            rendered = c.render(None, name=name, namespace=namespace, is_install=True)
    except Exception as e:  # Helm's own error text, as the helm binary prints it
        print(f"Error: {e}", file=sys.stderr)
        return 1
    out = []
    for path in sorted(rendered):
        text = rendered[path]
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        out.append(f"---\n# Source: {path}\n{text.rstrip()}\n")
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
