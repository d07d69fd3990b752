"""The few shapes our dashboards use, built with Grafana's typed SDK (grafana-foundation-sdk).

`build.py` says what each panel shows; this module says how a bar gauge, a table or a link of ours looks, once.
Everything here returns the SDK's builders or models; `to_json` turns a finished dashboard into Grafana's JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from grafana_foundation_sdk.builders import bargauge, common, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus as prom_model

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="posture-prometheus")
UI_BASE = "ui_base"  # a constant variable: where the web UI is, for the links to its pages


# readable values -----------------------------------------------------------------------------------------------

SEVERITIES = {  # label value → (German word, colour)
    "critical": ("kritisch", "dark-red"),
    "high": ("hoch", "red"),
    "medium": ("mittel", "orange"),
    "low": ("niedrig", "yellow"),
    "info": ("Info", "blue"),
}
GRADES = {  # posture_tls_grade_score → (grade, colour)
    "7": ("A+", "dark-green"),
    "6": ("A", "green"),
    "5": ("A-", "semi-dark-green"),
    "4": ("B", "yellow"),
    "3": ("C", "orange"),
    "2": ("D", "semi-dark-orange"),
    "1": ("E", "red"),
    "0": ("F", "dark-red"),
}


def words(values: Mapping[str, tuple[str, str]]) -> model.ValueMap:
    """A value mapping: each value shown as a word in its colour, in the given order."""
    return model.ValueMap(
        options={
            value: model.ValueMappingResult(text=text, color=color, index=index)
            for index, (value, (text, color)) in enumerate(values.items())
        }
    )


SEVERITY_WORDS = words(SEVERITIES)
RISK_WORDS = words({**SEVERITIES, "none": ("keine Klasse", "text")})
GRADE_LETTERS = words(GRADES)
OK_WORDS = words({"1": ("ja", "green"), "0": ("nein", "red")})


def severity_series() -> list[tuple[str, list[model.DynamicConfigValue]]]:
    """Overrides naming series whose legend is a severity in German, in the severity's colour."""
    return [
        (value, [model.DynamicConfigValue("displayName", text), _fixed_colour(color)])
        for value, (text, color) in SEVERITIES.items()
    ]


def grade_series() -> list[tuple[str, list[model.DynamicConfigValue]]]:
    return [(letter, [_fixed_colour(color)]) for letter, color in GRADES.values()]


def _fixed_colour(color: str) -> model.DynamicConfigValue:
    return model.DynamicConfigValue("color", {"mode": "fixed", "fixedColor": color})


def thresholds(*steps: tuple[float | None, str]) -> board.ThresholdsConfig:
    return (
        board.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps or ((None, "green"),)])
    )


RED_FROM_ONE = ((None, "green"), (1, "red"))


# links: only ids and names our own registration validated, percent-encoded into a fixed address --------------


def link(title: str, url: str) -> board.DashboardLink:
    return board.DashboardLink(title).url(url)


def to_agency(agency: str) -> board.DashboardLink:
    """`agency` is how the panel refers to the slug, e.g. `${__field.labels.agency:percentencode}`."""
    return link("Behörde im Detail", f"/d/posture-agency/?var-agency={agency}")


def to_endpoint(agency: str, endpoint: str) -> board.DashboardLink:
    return link("Endpunkt im Detail", f"/d/posture-endpoint/?var-agency={agency}&var-endpoint={endpoint}")


def to_ui_endpoint(endpoint_id: str) -> board.DashboardLink:
    return link("Endpunkt in der Web-Oberfläche", f"${{{UI_BASE}}}/ui/endpoints/{endpoint_id}")


def to_ui_domain(domain_id: str) -> board.DashboardLink:
    return link("Domain in der Web-Oberfläche", f"${{{UI_BASE}}}/ui/domains/{domain_id}")


def row(title: str) -> board.Row:
    """A row heading: the panels after it, up to the next row, belong to it."""
    return board.Row(title)


def label(name: str) -> str:
    """A series label in a bar gauge, stat or time series link."""
    return f"${{__field.labels.{name}:percentencode}}"


def cell(name: str) -> str:
    """A column of the same table row in a table link."""
    return f"${{__data.fields.{name}:percentencode}}"


# queries and panels ----------------------------------------------------------------------------------------------


def query(expr: str, legend: str = "", *, instant: bool = False, table_format: bool = False, ref: str = "A") -> Any:
    built = prom.Dataquery().expr(expr).ref_id(ref).legend_format(legend).datasource(DATASOURCE)
    built = built.instant() if instant or table_format else built.range()
    return built.format(prom_model.PromQueryFormat.TABLE) if table_format else built


def _common(panel: Any, title: str, description: str, width: int, height: int) -> Any:
    return panel.title(title).description(description).datasource(DATASOURCE).span(width).height(height)


def _overrides(panel: Any, overrides: Sequence[tuple[str, list[model.DynamicConfigValue]]]) -> Any:
    for name, properties in overrides:
        panel = panel.override_by_name(name, properties)
    return panel


def bars(
    title: str,
    description: str,
    expr: str,
    legend: str,
    *,
    unit: str = "short",
    steps: Sequence[tuple[float | None, str]] = (),
    links: Sequence[board.DashboardLink] = (),
    overrides: Sequence[tuple[str, list[model.DynamicConfigValue]]] = (),
    width: int = 12,
    height: int = 8,
) -> bargauge.Panel:
    """One bar per series of an instant query, e.g. per agency, highest first when the query sorts."""
    panel = (
        _common(bargauge.Panel(), title, description, width, height)
        .with_target(query(expr, legend, instant=True))
        .unit(unit)
        .min(0)
        .thresholds(thresholds(*steps))
        .data_links(list(links))
        .display_mode(common_model.BarGaugeDisplayMode.BASIC)
        .orientation(common_model.VizOrientation.HORIZONTAL)
        .show_unfilled(True)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return _overrides(panel, overrides)  # type: ignore[no-any-return]


def stat_panel(
    title: str,
    description: str,
    expr: str,
    legend: str = "",
    *,
    unit: str = "short",
    mappings: Sequence[model.ValueMapping] = (),
    steps: Sequence[tuple[float | None, str]] = (),
    links: Sequence[board.DashboardLink] = (),
    text_mode: common_model.BigValueTextMode = common_model.BigValueTextMode.AUTO,
    width: int = 6,
    height: int = 5,
) -> stat.Panel:
    return (
        _common(stat.Panel(), title, description, width, height)
        .with_target(query(expr, legend, instant=True))
        .unit(unit)
        .mappings(list(mappings))
        .thresholds(thresholds(*steps))
        .data_links(list(links))
        .text_mode(text_mode)
        .color_mode(common_model.BigValueColorMode.VALUE)
        .graph_mode(common_model.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def lines(
    title: str,
    description: str,
    expr: str,
    legend: str,
    *,
    unit: str = "short",
    overrides: Sequence[tuple[str, list[model.DynamicConfigValue]]] = (),
    width: int = 12,
    height: int = 8,
) -> timeseries.Panel:
    panel = (
        _common(timeseries.Panel(), title, description, width, height)
        .with_target(query(expr, legend))
        .unit(unit)
        .min(0)
        .thresholds(thresholds())
        .line_width(1)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .show_legend(True)
            .display_mode(common_model.LegendDisplayMode.LIST)
            .placement(common_model.LegendPlacement.BOTTOM)
        )
    )
    return _overrides(panel, overrides)  # type: ignore[no-any-return]


def grid(
    title: str,
    description: str,
    exprs: Sequence[str],
    columns: Sequence[tuple[str, str]],
    *,
    hidden: Sequence[str] = (),
    columns_config: Mapping[str, list[model.DynamicConfigValue]] | None = None,
    links: Mapping[str, Sequence[board.DashboardLink]] | None = None,
    sort: tuple[str, bool] | None = None,
    width: int = 24,
    height: int = 8,
) -> table.Panel:
    """A table of instant queries: only `columns` (field → German heading, in this order) are shown.

    One query gives its value as the field `Value`; several are merged on their common labels, and their values
    are `Value #A`, `Value #B` …. `hidden` fields stay in the rows for links (`cell(...)`) but are not shown.
    `columns_config` and `links` are keyed by the German heading.
    """
    refs = [chr(ord("A") + i) for i in range(len(exprs))]
    panel = _common(table.Panel(), title, description, width, height)
    for ref, expr in zip(refs, exprs, strict=True):
        panel = panel.with_target(query(expr, table_format=True, ref=ref))
    if len(exprs) > 1:
        panel = panel.with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
    keep = [name for name, _ in columns] + list(hidden)
    panel = (
        panel.with_transformation(
            model.DataTransformerConfig(id_val="filterFieldsByName", options={"include": {"names": keep}})
        )
        .with_transformation(
            model.DataTransformerConfig(
                id_val="organize",
                options={
                    "indexByName": {name: index for index, name in enumerate(keep)},
                    "renameByName": dict(columns),
                },
            )
        )
        .thresholds(thresholds())
        .show_header(True)
        .cell_height(common_model.TableCellHeight.SM)
    )
    if sort is not None:
        panel = panel.sort_by([common.TableSortByFieldState().display_name(sort[0]).desc(sort[1])])
    for name in hidden:
        panel = panel.override_by_name(name, [model.DynamicConfigValue("custom.hidden", True)])
    for heading, properties in (columns_config or {}).items():
        panel = panel.override_by_name(heading, properties)
    for heading, targets in (links or {}).items():
        panel = panel.override_by_name(heading, [model.DynamicConfigValue("links", [t.build() for t in targets])])
    return panel


def coloured(mapping: model.ValueMapping, unit: str | None = None) -> list[model.DynamicConfigValue]:
    """A table column shown through a value mapping, its cell in the mapped colour."""
    config = [
        model.DynamicConfigValue("mappings", [mapping]),
        model.DynamicConfigValue("custom.cellOptions", {"type": "color-text"}),
    ]
    return [*config, model.DynamicConfigValue("unit", unit)] if unit else config


def unit(name: str, *extra: model.DynamicConfigValue) -> list[model.DynamicConfigValue]:
    return [model.DynamicConfigValue("unit", name), *extra]


# dashboards ------------------------------------------------------------------------------------------------------


def _label_variable(name: str, label: str, query: str, *, multi: bool) -> board.QueryVariable:
    """A variable over a label's values; `multi`: several at once, "All" meaning every value (`.*`)."""
    variable = (
        board.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    return variable.multi(True).include_all(True).all_value(".*") if multi else variable


def agency_variable(*, multi: bool) -> board.QueryVariable:
    return _label_variable("agency", "Behörde", "label_values(posture_endpoint_info, agency)", multi=multi)


def check_variable() -> board.QueryVariable:
    return _label_variable("check", "Prüfung", "label_values(posture_check_success, check)", multi=True)


def severity_variable() -> board.CustomVariable:
    values = ",".join(f"{text} : {value}" for value, (text, _) in SEVERITIES.items())
    return (
        board.CustomVariable("severity").label("Schwere").values(values).multi(True).include_all(True).all_value(".*")
    )


def ui_base_variable() -> board.ConstantVariable:
    return (
        board.ConstantVariable(UI_BASE)
        .value("http://127.0.0.1:8080")
        .description("Base address of the posture web UI (POSTURE_UI_BASE_URL); the links to its pages start here.")
    )


class PrometheusAnnotation(model.AnnotationQuery):
    """An annotation from a PromQL expression: the SDK's AnnotationQuery knows `expr` but not the Prometheus
    data source's `titleFormat`, `tagKeys` and `step`, which these add to its JSON (see dashboards/README.md)."""

    def __init__(self, name: str, expr: str, color: str, title: str, tag_keys: str, step: str = "60s") -> None:
        super().__init__(name=name, datasource=DATASOURCE, enable=True, icon_color=color, expr=expr)
        self.extra = {"titleFormat": title, "tagKeys": tag_keys, "step": step, "useValueForTime": False}

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), **self.extra}


class Annotation(board.AnnotationQuery):
    def __init__(self, annotation: PrometheusAnnotation) -> None:
        super().__init__()
        self._internal = annotation


def dashboard(
    uid: str,
    title: str,
    description: str,
    rows: Sequence[Any],
    variables: Sequence[Any] = (),
    annotations: Sequence[PrometheusAnnotation] = (),
) -> board.Dashboard:
    built = (
        board.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["posture-monitor"])
        .timezone("browser")
        .readonly()
        .refresh("1m")
        .time("now-7d", "now")
        .version(1)
    )
    for variable in variables:
        built = built.with_variable(variable)
    for annotation in annotations:
        built = built.annotation(Annotation(annotation))
    for panel_id, panel in enumerate(rows, start=1):
        built = (
            built.with_row(panel.id(panel_id)) if isinstance(panel, board.Row) else built.with_panel(panel.id(panel_id))
        )
    return built


def to_json(built: board.Dashboard) -> dict[str, Any]:
    """Grafana's JSON of a dashboard, as plain data (the SDK's own encoder)."""
    return json.loads(json.dumps(built.build(), cls=JSONEncoder))  # type: ignore[no-any-return]


def endpoint_variable() -> board.QueryVariable:
    query = 'label_values(posture_endpoint_info{agency="$agency"}, endpoint)'
    return _label_variable("endpoint", "Endpunkt", query, multi=False)


def coloured_days(red: float = 14, orange: float = 30) -> list[model.DynamicConfigValue]:
    """Days left: red within `red` days (the alert's threshold: 14 for certificates), orange within `orange`."""
    steps = thresholds((None, "red"), (red, "orange"), (orange, "green")).build()
    return [
        model.DynamicConfigValue("thresholds", steps),
        model.DynamicConfigValue("custom.cellOptions", {"type": "color-text"}),
    ]


def expressions(built: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel query and every annotation of a dashboard's JSON, variables unreplaced."""
    found = [
        (f"{built['uid']}: {panel['title']} {target['refId']}", target["expr"])
        for panel in built["panels"]
        for target in panel.get("targets", [])
    ]
    found += [
        (f"{built['uid']}: annotation {a['name']}", a["expr"]) for a in built.get("annotations", {}).get("list", [])
    ]
    return found


def substitute(expr: str, **values: str) -> str:
    """An expression with the dashboard variables replaced, longest names first ($agency before $a…)."""
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(f"${name}", values[name])
    return expr
