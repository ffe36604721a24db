-module(erlsvc_json_tests).
-include_lib("eunit/include/eunit.hrl").

roundtrip_test_() ->
    Docs = [#{<<"a">> => 1, <<"b">> => [true, false, null], <<"c">> => <<"x\"y\n">>},
            [], #{}, [1.5, -2, <<"é"/utf8>>], #{<<"n">> => #{<<"m">> => []}}],
    [?_assertEqual({ok, D}, erlsvc_json:decode(erlsvc_json:encode(D))) || D <- Docs].

decode_test_() ->
    [?_assertEqual({ok, 100000.0}, erlsvc_json:decode(<<"1e5">>)),
     ?_assertEqual({ok, <<"A/">>}, erlsvc_json:decode(<<"\"\\u0041\\/\"">>)),
     ?_assertEqual({ok, #{<<"k">> => [1, 2]}}, erlsvc_json:decode(<<" {\"k\" : [1 , 2]}\n">>))].

invalid_test_() ->
    [?_assertMatch({error, _}, erlsvc_json:decode(B))
     || B <- [<<>>, <<"{">>, <<"{\"a\" 1}">>, <<"[1,]">>, <<"\"abc">>, <<"1 2">>, <<"tru">>,
              <<"{\"a\":1,}">>]].

encode_sorted_keys_test() ->
    ?assertEqual(<<"{\"a\":1,\"b\":2}">>, erlsvc_json:encode(#{<<"b">> => 2, <<"a">> => 1})).
