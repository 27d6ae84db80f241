"""sanfuwu — the 三服务 platform (服务企业、服务群众、服务基层)."""
