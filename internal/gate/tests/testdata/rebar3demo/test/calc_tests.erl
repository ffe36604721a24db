-module(calc_tests).
-include_lib("eunit/include/eunit.hrl").

add_test() ->
    ?assertEqual(4, calc:add(2, 2)).

div_test() ->
    ?assertEqual({ok, 2.0}, calc:safe_div(4, 2)).

sign_test() ->
    ?assertEqual(positive, calc:sign(3)).
