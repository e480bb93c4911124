"""The yardstick of `make bench-pages`: a minimal Flask page, a 20-row Jinja list."""

from flask import Flask, render_template_string

app = Flask(__name__)

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>企业</title></head>
<body><h1>试点企业</h1><table>{% for row in rows %}
<tr><td>{{ row.n }}</td><td>{{ row.name }}</td><td>{{ row.district }}</td></tr>{% endfor %}
</table></body></html>"""

ROWS = [{"n": n, "name": f"郑州第{n}有限公司", "district": "410100"} for n in range(1, 21)]


@app.get("/")
def index():
    return render_template_string(PAGE, rows=ROWS)
