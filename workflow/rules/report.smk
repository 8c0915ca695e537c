rule report:
    input:
        out_of_date("report"),
        report_inputs,
    output:
        report_files(),
    log:
        "logs/{study}/report.log",
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "procrustean report --study {wildcards.study} > {log} 2>&1"


# One judge rule per registered analysis (analyses/NAME.yaml): `snakemake judge_NAME`.
for _analysis in ANALYSES:

    rule:
        name:
            f"judge_{_analysis.name}"
        input:
            design_inputs(_analysis.name),
        output:
            [*judge_outputs(_analysis), judge_outputs(_analysis)[0] + PROV],
        log:
            f"logs/judge/{_analysis.name}.log",
        localrule: True
        params:
            analysis=_analysis.name,
        shell:
            "procrustean judge {params.analysis} > {log} 2>&1"
