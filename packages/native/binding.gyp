{
  "targets": [
    {
      "target_name": "vaelab_native",
      "sources": ["addon/vaelab_native.c"],
      "include_dirs": ["/usr/include/openblas", "/usr/local/include/openblas"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lopenblas", "-lm"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno"]
      }
    }
  ]
}
