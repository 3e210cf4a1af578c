"""Calling the plugin's panels from Python as the App does, and the view the App then shows."""

from __future__ import annotations


def call_panel(panel: str, collection, method: str, state: dict | None = None, **params):
    """Run ``method`` of ``panel``; return (panel state, panel data, [(operation, params)])."""
    import fiftyone.operators as foo

    context = {key: params.pop(key) for key in ("current_sample", "selected_labels",
                                                "group_slice") if key in params}
    result = foo.execute_operator(f"@ldfa/anonymization/{panel}", {
        "view": collection.view(), **context,
        "params": {"__method__": method, "panel_id": "test",
                   "panel_state": {k: v for k, v in (state or {}).items() if k != RENDERED},
                   **params}})
    assert result.error is None, result.error_message
    state, data, ops = dict(state or {}), {}, []
    for request in result.executor.to_json()["requests"]:
        name, args = request["operator_uri"], request["params"]
        if name == "patch_panel_state":
            state.update(args["state"])
        elif name == "patch_panel_data":
            data.update(args["data"])
        elif name == "show_panel_output":
            state[RENDERED] = args["output"]
        else:
            ops.append((name, args))
    return state, data, ops


RENDERED = "__rendered__"  # the state key ``call_panel`` keeps what the panel drew under


def shown_property(state: dict, name: str) -> dict:
    """The property ``name`` of what the panel drew last (its view: a table's columns, a plot's
    layout), searched through the stacks it sits in."""
    def search(properties: dict):
        for key, prop in properties.items():
            if key == name:
                return prop
            inner = (prop.get("type") or {}).get("properties")
            found = search(inner) if inner else None
            if found is not None:
                return found
        return None

    found = search(state[RENDERED]["type"]["properties"])
    assert found is not None, f"the panel drew no '{name}'"
    return found


def shown_view(collection, ops):
    """The view the App shows after ``ops``: the ``set_view`` stages on the group slice set."""
    import fiftyone as fo

    [stages] = [args["view"] for name, args in ops if name == "set_view"]
    view = fo.DatasetView._build(collection._dataset, stages)
    for name, args in ops:
        if name == "set_group_slice" and view.media_type == "group":
            view.group_slice = args["slice"]
    return view
