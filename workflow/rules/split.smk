rule split:
    input:
        out_of_date("split"),
    output:
        split=pattern(SPLIT),
        prov=pattern(SPLIT, PROV),
        summary=pattern(SPLIT_SUMMARY),
        committed_prov=pattern(SPLIT_SUMMARY, PROV),
    log:
        f"logs/{{study}}/split/{SETTING}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "procrustean split --study {wildcards.study}"
        " --dataset {wildcards.dataset} --profile {wildcards.profile} --ratio {wildcards.ratio}"
        " --out {output.split} --summary {output.summary} > {log} 2>&1"
