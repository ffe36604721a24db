-module(erlsvc_config_tests).
-include_lib("eunit/include/eunit.hrl").

parse_rate_test_() ->
    [?_assertEqual({ok, 0.2}, erlsvc_config:parse_rate("0.2")),
     ?_assertEqual({ok, 0.2}, erlsvc_config:parse_rate("20%")),
     ?_assertEqual({ok, 0.5}, erlsvc_config:parse_rate(".5")),
     ?_assertEqual({ok, 0.0}, erlsvc_config:parse_rate("0")),
     ?_assertEqual({ok, 1.0}, erlsvc_config:parse_rate("3")),
     ?_assertEqual({ok, 0.0}, erlsvc_config:parse_rate(-1)),
     ?_assertEqual(error, erlsvc_config:parse_rate("lots"))].
