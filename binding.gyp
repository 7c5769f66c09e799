{
  "targets": [
    {
      "target_name": "synack_tun",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/tun.cc"],
          "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
          "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
          "defines": ["NAPI_VERSION=8"]
        }]
      ]
    }
  ]
}
